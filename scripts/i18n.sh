#!/usr/bin/env bash
# Interface translations (Flask-Babel). The catalogue lives in portal/translations/
# (Flask-Babel's default directory for the app, whose root_path is portal/).
#
#   scripts/i18n.sh extract   source -> portal/translations/messages.pot
#   scripts/i18n.sh update    messages.pot -> every locale's messages.po (creates missing locales)
#   scripts/i18n.sh compile   messages.po -> messages.mo (gitignored; run at install time)
#   scripts/i18n.sh check     list untranslated, fuzzy, missing or broken entries; exit 1 if any
#   scripts/i18n.sh all       extract, update, compile
#
# A new string: wrap it (_() / _l()), then `extract` and `update`, translate the empty
# msgstr in portal/translations/<locale>/LC_MESSAGES/messages.po (remove any `#, fuzzy`
# line once the translation is right), `compile`, and `check`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LOCALES=(zh_Hant_HK)
DIR="portal/translations"
POT="$DIR/messages.pot"
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
pybabel() { "$PY" -m babel.messages.frontend -q "$@"; }

extract_to() {
  pybabel extract -F babel.cfg \
    -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
    --ignore-dirs=".* ._ node_modules __pycache__ tests migrations" \
    --add-location=file --sort-by-file --width=100 \
    --project=InnoMatch --copyright-holder="Smart Health Innovation Lab" \
    --msgid-bugs-address="" \
    -o "$1" .
}

cmd_extract() {
  mkdir -p "$DIR"
  extract_to "$POT"
  echo "i18n: extracted $(grep -c '^msgid ' "$POT") messages to $POT"
}

cmd_update() {
  [[ -f "$POT" ]] || cmd_extract
  for locale in "${LOCALES[@]}"; do
    if [[ -f "$DIR/$locale/LC_MESSAGES/messages.po" ]]; then
      pybabel update -i "$POT" -d "$DIR" -l "$locale" --ignore-obsolete --width=100
    else
      pybabel init -i "$POT" -d "$DIR" -l "$locale" --width=100
    fi
    echo "i18n: updated $DIR/$locale/LC_MESSAGES/messages.po"
  done
}

cmd_compile() {
  for locale in "${LOCALES[@]}"; do
    pybabel compile -d "$DIR" -l "$locale"
  done
  echo "i18n: compiled ${LOCALES[*]}"
}

cmd_check() {
  local fresh
  fresh="$(mktemp --suffix=.pot)"
  trap 'rm -f "$fresh"' RETURN
  extract_to "$fresh"
  "$PY" - "$fresh" "$DIR" "${LOCALES[@]}" <<'PYEOF'
import sys
from babel.messages.pofile import read_po

fresh_path, directory, *locales = sys.argv[1:]
with open(fresh_path, "rb") as f:
    source = read_po(f)
wanted = {m.id if isinstance(m.id, str) else m.id[0]: m for m in source if m.id}

problems = 0
for locale in locales:
    path = f"{directory}/{locale}/LC_MESSAGES/messages.po"
    try:
        with open(path, "rb") as f:
            catalog = read_po(f, locale=locale)
    except FileNotFoundError:
        print(f"{path}: missing (run scripts/i18n.sh update)")
        problems += 1
        continue
    have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}

    def where(message):
        return ", ".join(sorted({loc[0] for loc in message.locations})) or "?"

    for key, message in wanted.items():
        if key not in have:
            print(f"{locale}: NOT IN CATALOGUE  {key!r}  ({where(message)}) - run extract and update")
            problems += 1
    for key, message in have.items():
        if key not in wanted:
            continue  # obsolete: dropped by the next update
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            print(f"{locale}: FUZZY             {key!r}  ({where(message)})")
            problems += 1
        elif not all(strings):
            print(f"{locale}: UNTRANSLATED      {key!r}  ({where(message)})")
            problems += 1
    for message, errors in catalog.check():
        for error in errors:
            print(f"{locale}: BROKEN            {message.id!r}: {error}")
            problems += 1

if problems:
    print(f"i18n check: {problems} problem(s)")
    sys.exit(1)
print(f"i18n check: {len(wanted)} messages, all translated in {', '.join(locales)}")
PYEOF
}

case "${1:-}" in
  extract) cmd_extract ;;
  update) cmd_update ;;
  compile) cmd_compile ;;
  check) cmd_check ;;
  all) cmd_extract; cmd_update; cmd_compile ;;
  *) echo "usage: scripts/i18n.sh extract|update|compile|check|all" >&2; exit 2 ;;
esac
