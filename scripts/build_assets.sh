#!/usr/bin/env bash
# Build the front-end assets into portal/static/vendor/ (generated, gitignored).
#
#   scripts/build_assets.sh          install npm packages if needed, compile, copy
#   scripts/build_assets.sh --force  rebuild even when nothing changed
#
# - npm ci (npm install when there is no package-lock.json yet), skipped when
#   node_modules already matches the lock file;
# - Sass: assets/app.scss -> portal/static/vendor/app.css (GOV.UK Frontend + InnoMatch brand);
# - copies govuk-frontend.min.js, Swagger UI (the API docs page) and any image the compiled CSS refers to.
# axe-core stays in node_modules: browser tests read node_modules/axe-core/axe.min.js.
# Idempotent; a second run with nothing changed does no work.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

VENDOR="portal/static/vendor"
GOVUK="node_modules/govuk-frontend/dist/govuk"
STAMP="node_modules/.innomatch-install-stamp"

command -v npm >/dev/null || { echo "build_assets: npm is required (Node.js 20.19 or later)" >&2; exit 1; }

# 1. npm packages: only when package.json / package-lock.json changed since the last install.
lock_hash() { cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1; }
if [[ $FORCE == 1 || ! -f "$STAMP" || "$(cat "$STAMP")" != "$(lock_hash)" || ! -d "$GOVUK" ]]; then
  if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
  lock_hash >"$STAMP"
fi

mkdir -p "$VENDOR"

# 2. Sass, only when a source (ours or GOV.UK Frontend's) is newer than the output.
CSS="$VENDOR/app.css"
if [[ $FORCE == 1 || ! -f "$CSS" || -n "$(find assets "$GOVUK" "$STAMP" -newer "$CSS" -print -quit)" ]]; then
  node_modules/.bin/sass \
    --load-path=node_modules \
    --style=compressed \
    --no-source-map \
    --quiet-deps \
    assets/app.scss "$CSS.tmp"
  mv "$CSS.tmp" "$CSS"
  echo "build_assets: compiled $CSS ($(wc -c <"$CSS") bytes)"
fi

# 3. Copy files only when they differ (keeps mtimes, so ETags stay stable).
copy() {
  local src="$1" dest="$2"
  if ! cmp -s "$src" "$dest" 2>/dev/null; then
    mkdir -p "$(dirname "$dest")"
    cp "$src" "$dest"
    echo "build_assets: copied $dest"
  fi
}
copy "$GOVUK/govuk-frontend.min.js" "$VENDOR/govuk-frontend.min.js"
# Swagger UI for the API's documentation page (/api/v1/docs), served from here: the CSP allows no CDN.
SWAGGER="node_modules/swagger-ui-dist"
copy "$SWAGGER/swagger-ui-bundle.js" "$VENDOR/swagger-ui/swagger-ui-bundle.js"
copy "$SWAGGER/swagger-ui.css" "$VENDOR/swagger-ui/swagger-ui.css"

# Images the compiled CSS refers to (url(images/...)), e.g. if a component that
# needs one is added to assets/app.scss. Fonts are never copied: we use system fonts.
images="$(grep -o 'url("\{0,1\}images/[^")]*' "$CSS" | sed 's/^url("\{0,1\}//' | sort -u || true)"
for image in $images; do
  [[ -f "$GOVUK/assets/$image" ]] || { echo "build_assets: $CSS needs missing $image" >&2; exit 1; }
  copy "$GOVUK/assets/$image" "$VENDOR/$image"
done
