# InnoMatch: `make run` serves the demo, `make test` runs the tests. Both set everything up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FLASK  := $(BIN)/flask --app wsgi
export HF_HUB_OFFLINE := 1
# make serves and seeds the local demo: development settings (a random SECRET_KEY per
# process, no production checks) unless the caller says otherwise. loadtest/run.sh sets production.
export INNOMATCH_ENV ?= development
export TOKENIZERS_PARALLELISM := false

.PHONY: install system-deps i18n-check run test serve migrate seed bench evaluate load load-smoke load-two-hosts load-two-hosts-smoke procfile-check backup-drill security lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, so sentence-transformers does not pull a CUDA one.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) system-deps
	scripts/build_assets.sh
	PYTHON=$(BIN)/python scripts/i18n.sh compile

# Debian packages: Node for the asset build, Chromium and CJK fonts for the browser tests.
# Only the missing ones are asked for: a nodejs build that bundles npm conflicts with Debian's npm.
system-deps:
	@pkgs=""; \
	command -v npm >/dev/null || pkgs="$$pkgs nodejs npm"; \
	command -v chromium >/dev/null || pkgs="$$pkgs chromium"; \
	fc-list 2>/dev/null | grep -qi "noto sans cjk" || pkgs="$$pkgs fonts-noto-cjk"; \
	if [ -n "$$pkgs" ]; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null; \
		else echo "Install$$pkgs with your package manager."; exit 1; fi; \
	fi

i18n-check: install
	PYTHON=$(BIN)/python scripts/i18n.sh check

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo

run: seed
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench.py

evaluate: install
	$(FLASK) matcher evaluate data/eval/dev_cases.json

load: install
	loadtest/run.sh

load-smoke: install
	loadtest/run.sh --smoke

# Two gunicorn instances sharing PostgreSQL and Redis; edits made through one are looked for through the other.
load-two-hosts: install
	loadtest/run.sh --two-hosts

load-two-hosts-smoke: install
	loadtest/run.sh --smoke --two-hosts

# The Procfile's processes started with honcho against PostgreSQL and Redis, until /readyz answers 200.
procfile-check: install
	scripts/check_procfile.sh

# pg_dump, restore into a scratch database, compare row counts (docs/operations.md).
backup-drill: install
	scripts/backup_drill.sh

security: install
	$(BIN)/python -m pytest tests/security -q -s -p no:cacheprovider

lint: install
	$(BIN)/ruff check portal matcher models tests
	$(BIN)/bandit -q -c pyproject.toml -r portal matcher models
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules portal/static/vendor instance
