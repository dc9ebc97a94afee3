# OpenMentor: `make run` starts the app on SQLite with demo users, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# The PostgreSQL server the tests create their throw-away databases on.
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: help run test test-unit test-sqlite test-postgresql test-browser lint bench setup prerequisites clean

help:
	@echo "make run    set up and start OpenMentor on http://$(HOST):$(PORT) (SQLite, demo users)"
	@echo "make test   set up and run every test (unit, web on SQLite and PostgreSQL, browser)"
	@echo "make lint   ruff check and format check"
	@echo "make bench  run the benchmarks under bench/"

prerequisites:
	@missing=""; \
	command -v $(PYTHON) >/dev/null || missing="$$missing python3"; \
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || missing="$$missing python3(>=3.11)"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "Missing prerequisites:$$missing"; \
		echo "Install them with: sudo apt-get install python3-venv nodejs npm make"; \
		exit 1; \
	fi

$(BIN)/activate: | prerequisites
	$(PYTHON) -m venv $(VENV)

# The stamp is newer than pyproject.toml once its dependencies are installed.
$(VENV)/.stamp-python: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.stamp-npm: package.json package-lock.json .npmrc | prerequisites
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Pages load htmx from static/vendor (git-ignored); browser tests read axe-core from node_modules.
static/vendor/htmx.min.js: node_modules/.stamp-npm
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

setup: $(VENV)/.stamp-python static/vendor/htmx.min.js

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > $@
	chmod 600 $@

run: setup instance/secret_key
	@export SECRET_KEY="$$(cat instance/secret_key)" OPENMENTOR_TIMERS_IN_APP=true; \
	$(FLASK) db upgrade && \
	$(FLASK) seed-demo && \
	echo "OpenMentor is starting: open http://$(HOST):$(PORT)/login (Ctrl-C stops it)" && \
	exec $(FLASK) run --no-reload --no-debugger --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Each tier prints its own pytest summary line, so the output shows the counts per backend.
test: setup lint test-unit test-sqlite test-postgresql test-browser

test-unit: setup
	@echo "=== unit tests (domain, no database) ==="
	$(BIN)/python -m pytest tests/unit -q

test-sqlite: setup
	@echo "=== web tests on SQLite ==="
	OPENMENTOR_TEST_BACKEND=sqlite $(BIN)/python -m pytest tests/web -q

test-postgresql: setup
	@echo "=== web tests on PostgreSQL ==="
	OPENMENTOR_TEST_BACKEND=postgresql TEST_POSTGRES_URL='$(TEST_POSTGRES_URL)' $(BIN)/python -m pytest tests/web -q

test-browser: setup
	@echo "=== browser tests in Chromium ==="
	$(BIN)/python -m pytest tests/browser -q

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache .hypothesis
