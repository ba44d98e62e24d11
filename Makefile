# InnoMatch: `make run` serves the demo, `make test` runs the tests. Both set everything up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FLASK  := $(BIN)/flask --app wsgi
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test serve migrate seed bench evaluate load lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, so sentence-transformers does not pull a CUDA one.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)
	@if [ -x scripts/build_assets.sh ]; then scripts/build_assets.sh; fi
	@if [ -x scripts/i18n.sh ]; then scripts/i18n.sh compile; fi

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

lint: install
	$(BIN)/ruff check portal matcher models tests
	$(BIN)/bandit -q -c pyproject.toml -r portal matcher models

clean:
	rm -rf $(VENV) node_modules portal/static/vendor instance
