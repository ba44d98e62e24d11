#!/usr/bin/env bash
# Load test on PostgreSQL: new database -> migrate -> seed -> gunicorn -> warm-up -> locust -> report.
#
#   loadtest/run.sh            full run: 10,000 startups, 1,000 challenges, 20 users for 3 minutes,
#                              latency targets asserted (make load)
#   loadtest/run.sh --smoke    small data, 5 users for 15 s, failures asserted, no latency (CI)
#
# Settings (environment): STARTUPS CHALLENGES USERS DURATION WORKERS THREADS SPAWN_RATE PORT OUT
# MATCHER_MODEL (default "hashing": model-free vectors so seeding takes seconds; the ranking
# work per request is the same as with the sentence-transformers model, whose query
# encoding is cached after the first view of a page).
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1
if (( SMOKE )); then
  : "${STARTUPS:=300}" "${CHALLENGES:=60}" "${USERS:=20}" "${DURATION:=15s}"
else
  : "${STARTUPS:=10000}" "${CHALLENGES:=1000}" "${USERS:=20}" "${DURATION:=180s}"
fi
: "${WORKERS:=2}" "${THREADS:=2}" "${OUT:=test-results/load}"
# Users start 2 a second (20 in 10 s) rather than all in the same instant: 14 argon2id
# sign-ins at once would hold every server thread for a second, which no real morning does.
: "${SPAWN_RATE:=2}"
BIN=.venv/bin
# A free port unless one is given (another server on the port would be measured instead).
: "${PORT:=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
if ! $BIN/python -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$PORT" 2>/dev/null; then
  echo "port $PORT is in use" >&2; exit 1
fi
PGHOST=127.0.0.1 PGUSER=postgres
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export MATCHER_MODEL="${MATCHER_MODEL:-hashing}"
export SECRET_KEY="${SECRET_KEY:-$($BIN/python -c 'import secrets; print(secrets.token_hex(32))')}"
# Production settings, checked at start: one secret key for all workers. Every simulated
# user comes from 127.0.0.1, which per-IP rate limits would count as one person, so the
# limits are off (production keeps them on, with shared storage: RATELIMIT_STORAGE_URI).
export INNOMATCH_ENV=production WEB_CONCURRENCY="$WORKERS" RATELIMIT_ENABLED="${RATELIMIT_ENABLED:-false}"

if ! pg_isready -h "$PGHOST" -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do pg_isready -h "$PGHOST" -q && break; sleep 1; done
fi
DB="innomatch_load_$$"
export DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:5432/$DB"
GUNICORN_PID=""
cleanup() {
  if [[ -n "$GUNICORN_PID" ]] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill "$GUNICORN_PID"; wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  psql -h "$PGHOST" -U "$PGUSER" -d test -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
}
trap cleanup EXIT
psql -h "$PGHOST" -U "$PGUSER" -d test -q -c "CREATE DATABASE $DB"
mkdir -p "$OUT"

echo "== migrate and seed ($STARTUPS startups, $CHALLENGES challenges, MATCHER_MODEL=$MATCHER_MODEL)"
$BIN/flask --app wsgi db upgrade >"$OUT/migrate.log" 2>&1
$BIN/python loadtest/seed_large.py --startups "$STARTUPS" --challenges "$CHALLENGES"

echo "== gunicorn: $WORKERS workers x $THREADS threads on 127.0.0.1:$PORT"
# The production settings of gunicorn.conf.py (timeouts, keep-alive longer than any user's
# pause, preload); the run chooses workers, threads and port, and logs no access lines.
$BIN/gunicorn -c gunicorn.conf.py --workers "$WORKERS" --threads "$THREADS" --bind "127.0.0.1:$PORT" \
  --access-logfile /dev/null --log-level warning wsgi:app >"$OUT/gunicorn.log" 2>&1 &
GUNICORN_PID=$!
for _ in $(seq 1 60); do
  kill -0 "$GUNICORN_PID" 2>/dev/null || { echo "gunicorn exited:"; tail -20 "$OUT/gunicorn.log"; exit 1; }
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null

echo "== warm-up (each worker fits its rankers once)"
$BIN/python loadtest/warmup.py "http://127.0.0.1:$PORT" --rounds $(( WORKERS * 2 )) --repeat 3

echo "== locust: $USERS users for $DURATION"
rm -f "$OUT"/locust_*.csv
$BIN/locust -f loadtest/locustfile.py --headless --only-summary -u "$USERS" -r "$SPAWN_RATE" -t "$DURATION" \
  --host "http://127.0.0.1:$PORT" --csv "$OUT/locust" --stop-timeout 5 >"$OUT/locust.log" 2>&1 || true

echo "== results"
if (( SMOKE )); then
  $BIN/python benchmarks/load_report.py "$OUT/locust" --json "$OUT/summary.json" --assert --failures-only
else
  $BIN/python benchmarks/load_report.py "$OUT/locust" --json "$OUT/summary.json" --assert
fi
