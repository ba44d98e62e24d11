#!/usr/bin/env bash
# Start the Procfile's processes with honcho, as a platform would, against a new PostgreSQL
# database and Redis; wait until /readyz answers 200; check every process is still running;
# stop them all. The Dockerfile and compose.yaml run the same commands (tests/test_deployment.py).
#
#   scripts/check_procfile.sh        (make procfile-check; .ci/run)
#
# worker and scheduler (`flask jobs worker|scheduler`) are started when the app has the
# `jobs` command; otherwise only web is, and the script says so.
# Settings: PORT (a free one), REDIS_URL (default redis://127.0.0.1:6379/$REDIS_DB; a private
# redis-server is started when none answers), READY_TIMEOUT (90 s).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
export PATH="$BIN:$PATH"
PGHOST=127.0.0.1 PGUSER=postgres
: "${READY_TIMEOUT:=90}"
: "${PORT:=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
WORK="$(mktemp -d)"
DB="innomatch_procfile_$$"
HONCHO_PID="" REDIS_PID=""
cleanup() {
  if [[ -n "$HONCHO_PID" ]] && kill -0 "$HONCHO_PID" 2>/dev/null; then
    kill "$HONCHO_PID" 2>/dev/null || true
    wait "$HONCHO_PID" 2>/dev/null || true
  fi
  if [[ -n "$REDIS_PID" ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  psql -h "$PGHOST" -U "$PGUSER" -d test -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z "${REDIS_URL:-}" ]]; then
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    REDIS_URL="redis://127.0.0.1:6379/${REDIS_DB:-0}"
  else
    RPORT=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 20); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.25; done
    REDIS_URL="redis://127.0.0.1:$RPORT/0"
  fi
fi

# Production settings, as on a platform: the checks at start apply (secret key, shared rate-limit storage).
export INNOMATCH_ENV=production HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# Served on this machine over plain HTTP: the hosts it answers to, and HTTP said to be meant.
export TRUSTED_HOSTS=127.0.0.1,localhost ALLOW_PLAIN_HTTP=true
export SECRET_KEY="$(python -c 'import secrets; print(secrets.token_hex(32))')"
export DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:5432/$DB"
export REDIS_URL RATELIMIT_STORAGE_URI="$REDIS_URL" WEB_CONCURRENCY=2 GUNICORN_LOG_LEVEL=warning GUNICORN_ACCESS_LOG=/dev/null
export PROMETHEUS_MULTIPROC_DIR="$WORK/metrics" MATCHER_MODEL="${MATCHER_MODEL:-hashing}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
psql -h "$PGHOST" -U "$PGUSER" -d test -q -c "CREATE DATABASE $DB"
flask --app wsgi db upgrade >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }

PROCESSES=(web)
if flask --app wsgi jobs --help >/dev/null 2>&1; then
  PROCESSES+=(worker scheduler)
else
  echo "procfile: this app has no 'flask jobs' command yet: starting web only (worker and scheduler skipped)"
fi
echo "procfile: honcho start ${PROCESSES[*]} (web on port $PORT, $REDIS_URL)"
# honcho gives web PORT=$PORT; gunicorn.conf.py binds to GUNICORN_BIND, else to PORT.
export GUNICORN_BIND="127.0.0.1:$PORT"
honcho start -f Procfile -p "$PORT" "${PROCESSES[@]}" >"$WORK/honcho.log" 2>&1 &
HONCHO_PID=$!

status=""
for _ in $(seq 1 $(( READY_TIMEOUT * 2 ))); do
  kill -0 "$HONCHO_PID" 2>/dev/null || break
  status=$(curl -s -o "$WORK/readyz.json" -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)
  [[ "$status" == 200 ]] && break
  sleep 0.5
done
if [[ "$status" != 200 ]]; then
  echo "procfile: /readyz did not answer 200 (last: ${status:-none})"; cat "$WORK/readyz.json" 2>/dev/null || true
  tail -40 "$WORK/honcho.log"; exit 1
fi
echo "procfile: /readyz 200 $(cat "$WORK/readyz.json")"
sleep 2  # a process that fails at start (a bad command, a missing setting) has exited by now
for name in "${PROCESSES[@]}"; do
  if grep -Eq "^[0-9:]+ system +\| ${name}\.1 stopped" "$WORK/honcho.log"; then
    echo "procfile: $name stopped on its own"; tail -40 "$WORK/honcho.log"; exit 1
  fi
done
kill -0 "$HONCHO_PID" 2>/dev/null || { echo "procfile: honcho exited"; tail -40 "$WORK/honcho.log"; exit 1; }
kill "$HONCHO_PID"
wait "$HONCHO_PID" 2>/dev/null || true
HONCHO_PID=""
if curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
  echo "procfile: web still answers after honcho stopped"; exit 1
fi
echo "procfile: ${PROCESSES[*]} started, ready, and stopped"
