#!/usr/bin/env bash
# Load test on PostgreSQL: new database -> migrate -> seed -> gunicorn (+ job worker) -> warm-up
# -> memory snapshot -> locust (readers and editors) -> memory snapshot -> report.
#
#   loadtest/run.sh              full run: 10,000 startups, 1,000 challenges, 20 readers and 2 editors
#                                for 3 minutes, every target asserted (make load)
#   loadtest/run.sh --smoke      small data, 30 s: failures and edit visibility asserted, no latency (CI)
#   loadtest/run.sh --two-hosts  two gunicorn instances on two ports sharing PostgreSQL and Redis;
#                                readers alternate between them, edits go through the first and are
#                                looked for through the second (make load-two-hosts; with --smoke too)
#
# Settings (environment): STARTUPS CHALLENGES USERS DURATION WORKERS THREADS SPAWN_RATE PORT PORT2 OUT
# REDIS_URL (default redis://127.0.0.1:6379/$REDIS_DB, REDIS_DB default 0; a private redis-server is
# started when none answers), EDIT_CAPABILITY_EVERY (5 s), EDIT_CHALLENGE_EVERY (30 s),
# EDIT_VISIBLE_TIMEOUT (60 s), MATCHER_MODEL (default "hashing": model-free vectors so seeding takes
# seconds; the ranking work per request is the same as with the sentence-transformers model, whose
# query encoding is cached after the first view of a page).
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0 TWO=0
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    --two-hosts) TWO=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
MODE=$([[ $SMOKE == 1 ]] && echo smoke || echo full)$([[ $TWO == 1 ]] && echo -two-hosts || true)
if (( SMOKE )); then
  : "${STARTUPS:=300}" "${CHALLENGES:=60}" "${USERS:=22}" "${DURATION:=30s}"
else
  : "${STARTUPS:=10000}" "${CHALLENGES:=1000}" "${USERS:=22}" "${DURATION:=180s}"
fi
: "${WORKERS:=2}" "${THREADS:=2}" "${OUT:=loadtest/results/$MODE}"
# Users start 2 a second (20 in 10 s) rather than all in the same instant: 14 argon2id
# sign-ins at once would hold every server thread for a second, which no real morning does.
: "${SPAWN_RATE:=2}"
BIN=.venv/bin
free_port() { $BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_free() { $BIN/python -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$1" 2>/dev/null; }
# Free ports unless given (another server on the port would be measured instead).
: "${PORT:=$(free_port)}"
port_free "$PORT" || { echo "port $PORT is in use" >&2; exit 1; }
if (( TWO )); then
  : "${PORT2:=$(free_port)}"
  port_free "$PORT2" || { echo "port $PORT2 is in use" >&2; exit 1; }
fi
PGHOST=127.0.0.1 PGUSER=postgres
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export MATCHER_MODEL="${MATCHER_MODEL:-hashing}"
export SECRET_KEY="${SECRET_KEY:-$($BIN/python -c 'import secrets; print(secrets.token_hex(32))')}"
# Production settings, checked at start: one secret key for all workers. Every simulated
# user comes from 127.0.0.1, which per-IP rate limits would count as one person, so the
# limits are off (production keeps them on, with shared storage: RATELIMIT_STORAGE_URI).
export INNOMATCH_ENV=production WEB_CONCURRENCY="$WORKERS" RATELIMIT_ENABLED="${RATELIMIT_ENABLED:-false}"
# Served on this machine over plain HTTP: the hosts it answers to, and HTTP said to be meant.
export TRUSTED_HOSTS="${TRUSTED_HOSTS:-127.0.0.1,localhost}" ALLOW_PLAIN_HTTP="${ALLOW_PLAIN_HTTP:-true}"
# As in production (Dockerfile): the master fits the rankers once before forking (gunicorn.conf.py preloads).
export MATCHER_WARM_UP="${MATCHER_WARM_UP:-1}"
# Requests slower than this are logged with their CPU and SQL time (gunicorn.log), to see
# where a slow page's time went.
export SLOW_REQUEST_MS="${SLOW_REQUEST_MS:-250}"

if ! pg_isready -h "$PGHOST" -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do pg_isready -h "$PGHOST" -q && break; sleep 1; done
fi
DB="innomatch_load_$$"
export DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:5432/$DB"
PIDS=() REDIS_PID=""
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "$REDIS_PID" ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  psql -h "$PGHOST" -U "$PGUSER" -d test -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
}
trap cleanup EXIT
mkdir -p "$OUT"
rm -f "$OUT"/locust_*.csv "$OUT"/edits.jsonl "$OUT"/memory_*.json "$OUT"/report.txt

# Redis: the job queue (and, in production, the rate limits' shared counters).
if [[ -z "${REDIS_URL:-}" ]]; then
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    REDIS_URL="redis://127.0.0.1:6379/${REDIS_DB:-0}"
  elif command -v redis-server >/dev/null; then
    RPORT=$(free_port)
    redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no >"$OUT/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 20); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.25; done
    REDIS_URL="redis://127.0.0.1:$RPORT/0"
  fi
fi
export REDIS_URL="${REDIS_URL:-}"
psql -h "$PGHOST" -U "$PGUSER" -d test -q -c "CREATE DATABASE $DB"

echo "== migrate and seed ($STARTUPS startups, $CHALLENGES challenges, MATCHER_MODEL=$MATCHER_MODEL, REDIS_URL=${REDIS_URL:-none})"
$BIN/flask --app wsgi db upgrade >"$OUT/migrate.log" 2>&1
$BIN/python loadtest/seed_large.py --startups "$STARTUPS" --challenges "$CHALLENGES"

# Mail: a local SMTP server that accepts and discards every message (aiosmtpd's Sink), so that
# notifications' emails go through the outbox and the job worker's deliveries as in production.
SMTP_SINK_PORT=$(free_port)
$BIN/python -m aiosmtpd -n -l "127.0.0.1:$SMTP_SINK_PORT" -c aiosmtpd.handlers.Sink >"$OUT/smtp.log" 2>&1 &
PIDS+=("$!")
export SMTP_HOST=127.0.0.1 SMTP_PORT="$SMTP_SINK_PORT" PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}"

start_gunicorn() {  # port, log
  # The production settings of gunicorn.conf.py (timeouts, keep-alive longer than any user's
  # pause); the run chooses workers, threads and port, and logs no access lines.
  $BIN/gunicorn -c gunicorn.conf.py --workers "$WORKERS" --threads "$THREADS" --bind "127.0.0.1:$1" \
    --access-logfile /dev/null --log-level warning wsgi:app >"$2" 2>&1 &
  PIDS+=("$!")
  GUNICORN_PIDS+=("$!")
}
wait_healthy() {  # pid, port, log
  for _ in $(seq 1 120); do
    kill -0 "$1" 2>/dev/null || { echo "gunicorn exited:"; tail -20 "$3"; exit 1; }
    curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null
}
GUNICORN_PIDS=()
HOSTS="http://127.0.0.1:$PORT"
echo "== gunicorn: $WORKERS workers x $THREADS threads on 127.0.0.1:$PORT"
start_gunicorn "$PORT" "$OUT/gunicorn.log"
if (( TWO )); then
  echo "== second gunicorn: $WORKERS workers x $THREADS threads on 127.0.0.1:$PORT2 (same database and Redis)"
  start_gunicorn "$PORT2" "$OUT/gunicorn2.log"
  HOSTS="$HOSTS,http://127.0.0.1:$PORT2"
fi
wait_healthy "${GUNICORN_PIDS[0]}" "$PORT" "$OUT/gunicorn.log"
(( TWO )) && wait_healthy "${GUNICORN_PIDS[1]}" "$PORT2" "$OUT/gunicorn2.log"

# The job worker, where the app has one (flask jobs worker, on RQ and Redis).
if [[ -n "$REDIS_URL" ]] && $BIN/flask --app wsgi jobs worker --help >/dev/null 2>&1; then
  echo "== job worker (flask jobs worker)"
  $BIN/flask --app wsgi jobs worker >"$OUT/worker.log" 2>&1 &
  PIDS+=("$!")
else
  echo "== no job worker: this app has no 'flask jobs worker' command (or no Redis)"
fi

echo "== warm-up (each worker fits its rankers once; then an edit of each kind, read again)"
warm_up() {  # first coordinator number, then options for loadtest/warmup.py
  local n=$1
  shift
  for host in ${HOSTS//,/ }; do  # a coordinator per host: a TOTP code is accepted once per account
    $BIN/python loadtest/warmup.py "$host" --rounds $(( WORKERS * 2 )) --coordinator "coordinator$n@load.test" "$@"
    n=$(( n + 1 ))
  done
}
warm_up 2 --repeat 3
$BIN/python loadtest/memory.py "${GUNICORN_PIDS[@]}" --out "$OUT/memory_first.json"
# A worker's first edit gives it its own copy of the rankers it shared with the master (once
# in its life); memory is judged from after that, over the run's edits.
warm_up 4 --repeat 0 --edits
$BIN/python loadtest/memory.py "${GUNICORN_PIDS[@]}" --out "$OUT/memory_start.json"

echo "== locust: $USERS users (20 readers, 2 editors) for $DURATION on $HOSTS"
export LOAD_EDITS_OUT="$OUT/edits.jsonl"
(( TWO )) && export LOAD_HOSTS="$HOSTS"
# --stop-timeout: an edit being followed when the time is up is followed to the end.
# Each worker's highest RSS during the run (a corpus edit holds two versions of a ranker
# for a moment), shown in the report.
$BIN/python loadtest/memory.py "${GUNICORN_PIDS[@]}" --out "$OUT/memory_peak.json" --watch 1 &
PEAK_PID=$!
$BIN/locust -f loadtest/locustfile.py --headless --only-summary -u "$USERS" -r "$SPAWN_RATE" -t "$DURATION" \
  --host "http://127.0.0.1:$PORT" --csv "$OUT/locust" --stop-timeout 70 >"$OUT/locust.log" 2>&1 || true
kill "$PEAK_PID" 2>/dev/null || true
wait "$PEAK_PID" 2>/dev/null || true
# At rest, as after the warm-up: the last edit's catch-up by every worker's follower is over.
sleep 5
$BIN/python loadtest/memory.py "${GUNICORN_PIDS[@]}" --out "$OUT/memory_end.json"

echo "== jobs and mail at the end (the worker's queue, RQ's failed jobs, the outbox by status)"
sleep 5  # the last jobs enqueued
$BIN/python - <<'PY' | tee "$OUT/jobs.txt"
import os
if os.environ.get("REDIS_URL"):
    from redis import Redis
    from rq import Queue
    queue = Queue("innomatch", connection=Redis.from_url(os.environ["REDIS_URL"]))
    print(f"jobs: {queue.count} queued, {queue.failed_job_registry.count} failed, "
          f"{queue.scheduled_job_registry.count} waiting to be retried, {queue.finished_job_registry.count} finished (kept 500 s)")
PY
$BIN/flask --app wsgi jobs failed-mails --limit 5 2>/dev/null | sed 's/^/outbox: /' | tee -a "$OUT/jobs.txt"
# A job or a mail that failed for good fails the run (after the report below).
JOBS_FAILED=$( (grep -Eo '([0-9]+) failed,|failed=([0-9]+)' "$OUT/jobs.txt" || true) | (grep -Eo '[0-9]+' || true) | awk '{s+=$1} END {print s+0}')

echo "== results"
TITLE="InnoMatch load test ($MODE) $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname), $(nproc) cores: \
$STARTUPS startups, $CHALLENGES challenges, $USERS users for $DURATION, $WORKERS workers x $THREADS threads per host, \
$(( TWO + 1 )) host(s), MATCHER_MODEL=$MATCHER_MODEL"
CHECK=(--assert)
(( SMOKE )) && CHECK+=(--failures-only)
$BIN/python benchmarks/load_report.py "$OUT/locust" --edits "$OUT/edits.jsonl" \
  --memory-first "$OUT/memory_first.json" --memory-start "$OUT/memory_start.json" --memory-end "$OUT/memory_end.json" \
  --memory-peak "$OUT/memory_peak.json" \
  --json "$OUT/summary.json" --out "$OUT/report.txt" --title "$TITLE" "${CHECK[@]}"
if (( ${JOBS_FAILED:-0} > 0 )); then
  echo "FAILED: $JOBS_FAILED job(s) or mail(s) failed for good ($OUT/jobs.txt, $OUT/worker.log)"
  exit 1
fi
