#!/usr/bin/env bash
# Backup-and-restore drill (docs/operations.md): pg_dump a database, restore the dump into a
# scratch database, compare every table's row count, print the comparison; exit 1 on any
# difference. The scratch database is dropped at the end.
#
#   scripts/backup_drill.sh              drill on a new database with the demo data (make backup-drill)
#   scripts/backup_drill.sh innomatch    drill on an existing database (only read; never changed)
#
# Settings: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres); the dump stays in KEEP_DUMP if set.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BIN=.venv/bin
WORK="$(mktemp -d)"
SOURCE="${1:-}"
OWN_SOURCE=0
RESTORED="innomatch_restore_drill_$$"
cleanup() {
  psql -d postgres -q -c "DROP DATABASE IF EXISTS $RESTORED WITH (FORCE)" >/dev/null 2>&1 || true
  if (( OWN_SOURCE )); then psql -d postgres -q -c "DROP DATABASE IF EXISTS $SOURCE WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { printf '%.1f' "$(echo "$2 - $1" | bc)"; }

if [[ -z "$SOURCE" ]]; then
  SOURCE="innomatch_backup_drill_$$" OWN_SOURCE=1
  echo "== a database to back up: $SOURCE (migrations + demo data)"
  psql -d postgres -q -c "CREATE DATABASE $SOURCE"
  DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$SOURCE" INNOMATCH_ENV=development HF_HUB_OFFLINE=1 \
    MATCHER_MODEL="${MATCHER_MODEL:-hashing}" sh -c "$BIN/flask --app wsgi db upgrade && $BIN/flask --app wsgi seed-demo" \
    >"$WORK/seed.log" 2>&1 || { tail -20 "$WORK/seed.log"; exit 1; }
fi

DUMP="$WORK/$SOURCE.dump"
echo "== pg_dump $SOURCE ($(pg_dump --version))"
t0=$(now)
# Custom format: compressed, restorable table by table, in parallel with pg_restore -j.
pg_dump --format=custom --no-owner --no-privileges --dbname="$SOURCE" --file="$DUMP"
t1=$(now)
echo "dump: $(du -h "$DUMP" | cut -f1) in $(secs "$t0" "$t1") s"

echo "== restore into $RESTORED"
psql -d postgres -q -c "CREATE DATABASE $RESTORED"
t0=$(now)
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$RESTORED" "$DUMP"
t1=$(now)
echo "restore: $(secs "$t0" "$t1") s"

# Row counts of every table of the source's public schema, in both databases.
count_rows() {
  psql -d "$1" -At -F '|' <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename
\gexec
SQL
}
count_rows "$SOURCE" >"$WORK/source.txt"
count_rows "$RESTORED" >"$WORK/restored.txt"

echo "== row counts"
printf '%-34s %10s %10s  %s\n' table source restored ""
differences=0 total=0
while IFS='|' read -r table rows; do
  restored=$(awk -F'|' -v t="$table" '$1 == t {print $2}' "$WORK/restored.txt")
  verdict=ok
  if [[ "$restored" != "$rows" ]]; then verdict=DIFFERENT; differences=$((differences + 1)); fi
  total=$((total + rows))
  printf '%-34s %10s %10s  %s\n' "$table" "$rows" "${restored:-missing}" "$verdict"
done <"$WORK/source.txt"
extra=$(comm -13 <(cut -d'|' -f1 "$WORK/source.txt" | sort) <(cut -d'|' -f1 "$WORK/restored.txt" | sort) | tr '\n' ' ')
[[ -n "$extra" ]] && { echo "tables only in the restored database: $extra"; differences=$((differences + 1)); }
version_source=$(psql -d "$SOURCE" -Atc "SELECT version_num FROM alembic_version" 2>/dev/null || echo none)
version_restored=$(psql -d "$RESTORED" -Atc "SELECT version_num FROM alembic_version" 2>/dev/null || echo none)
echo "tables: $(wc -l <"$WORK/source.txt"), rows: $total; schema revision: $version_source (source), $version_restored (restored)"
[[ "$version_source" == "$version_restored" ]] || differences=$((differences + 1))
if [[ -n "${KEEP_DUMP:-}" ]]; then cp "$DUMP" "$KEEP_DUMP"; echo "dump kept in $KEEP_DUMP"; fi
if (( differences )); then echo "BACKUP DRILL FAILED: $differences difference(s)"; exit 1; fi
echo "backup drill passed: every table has the same number of rows after restore"
