# Hengdian Studio Booking — the two commands are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/hengdian
SQLITE_TEST_URL := sqlite:///$(CURDIR)/var/test.sqlite3
export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/0
# The app defaults to production mode; these targets are development, so they say so.
# (The test suite sets it itself: tests/development_mode.py.)
run lint messages bench bench-smoke bench-scaleout: export DJANGO_DEBUG = 1

.PHONY: help install install-dev run test lint test-postgres test-sqlite messages clean bench bench-smoke bench-scaleout

help:
	@echo "make run     set up and serve the app with demo data on http://127.0.0.1:8000"
	@echo "make test    lint, migration check, and the test suite on PostgreSQL and on SQLite"
	@echo "make messages  update and compile the translation catalogs (needs gettext)"
	@echo "make bench   measure pages, bursts and the sweep at demo and 100k size (README: Performance)"
	@echo "make bench-scaleout  two app servers, two workers and a beat: promises and emails exactly once"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Test-only tools from npm (tests/tools/package-lock.json pins them): axe-core for the
# accessibility check and the Nu HTML checker (vnu.jar, run with Java).
NPM_TOOLS := tests/tools
$(NPM_TOOLS)/node_modules/.package-lock.json: $(NPM_TOOLS)/package.json $(NPM_TOOLS)/package-lock.json
	npm ci --prefix $(NPM_TOOLS) --ignore-scripts --no-audit --no-fund
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev $(NPM_TOOLS)/node_modules/.package-lock.json

run: install
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	# Every process started here is in this shell's group; stop them all on exit.
	trap 'trap - EXIT INT TERM; kill 0 2>/dev/null || true' EXIT INT TERM
	# The demo's staff login is the booking desk, so its copies of requests show up too.
	export STAFF_NOTIFICATION_EMAILS="$${STAFF_NOTIFICATION_EMAILS:-staff@hengdian.example}"
	if $(PY) -c "import os, redis; redis.Redis.from_url(os.environ['CELERY_BROKER_URL'], socket_connect_timeout=1).ping()" 2>/dev/null; then
	  echo "Redis answers at $$CELERY_BROKER_URL: starting a Celery worker with beat."
	  $(VENV)/bin/celery -A hengdian worker --beat --loglevel INFO --concurrency 2 \
	    --schedule var/celerybeat-schedule &
	else
	  echo "Redis does not answer at $$CELERY_BROKER_URL, so no Celery worker is started:"
	  echo "background work (emails) runs inline in the web process instead."
	  export CELERY_TASK_ALWAYS_EAGER=1
	fi
	echo "Emails are printed below (EMAIL_URL=consolemail://)."
	$(PY) manage.py runserver 127.0.0.1:8000

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

# The PostgreSQL pass also keeps the cache (rate-limit counters) in Redis, as production does.
TEST_CACHE_URL ?= redis://127.0.0.1:6379/15

# Tests that start a real Celery worker use their own Redis database, so a
# `make run` worker on the same Redis cannot take their tasks.
TEST_BROKER_URL ?= redis://127.0.0.1:6379/14

# The suite runs in this many processes (pytest-xdist), each with its own test database and its
# own Redis databases (tests/development_mode.py); PYTEST_WORKERS=0 runs it in this process.
PYTEST_WORKERS ?= 2

test-postgres: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) CACHE_URL=$(TEST_CACHE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(PY) -m pytest -n $(PYTEST_WORKERS)

test-sqlite: install-dev
	mkdir -p var
	DATABASE_URL=$(SQLITE_TEST_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(PY) -m pytest -n $(PYTEST_WORKERS) -m "not browser"

test: lint test-postgres test-sqlite

# The benchmark (README, "Performance"): its own PostgreSQL database (created and dropped),
# gunicorn on BENCH_PORT, Redis databases BENCH_CACHE_DB and BENCH_BROKER_DB (flushed!).
# Not part of `make test`; CI runs bench-smoke, which checks it works, never how fast.
BENCH_POSTGRES ?= postgres://postgres@127.0.0.1:5432
BENCH_REDIS ?= redis://127.0.0.1:6379
BENCH_PORT ?= 8300
BENCH_CACHE_DB ?= 8
BENCH_BROKER_DB ?= 9
BENCH_ARGS ?=
BENCH_COMMON = --postgres $(BENCH_POSTGRES) --redis $(BENCH_REDIS) --port $(BENCH_PORT) \
	--cache-db $(BENCH_CACHE_DB) --broker-db $(BENCH_BROKER_DB)

bench: install-dev
	$(PY) manage.py bench $(BENCH_COMMON) $(BENCH_ARGS)

bench-smoke: install-dev
	mkdir -p var
	$(PY) manage.py bench $(BENCH_COMMON) --scale smoke --db-name hd_bench_smoke --seconds 1 --users 2 \
	  --registrations 30 --capacity 10 --booking-requests 10 --clients 4 | tee var/bench-smoke.md
	grep -q '^| floor |' var/bench-smoke.md

bench-scaleout: install-dev
	$(PY) manage.py bench_scaleout --postgres $(BENCH_POSTGRES) --redis $(BENCH_REDIS) --port $(BENCH_PORT) \
	  --cache-db $(BENCH_CACHE_DB) --broker-db $(BENCH_BROKER_DB) $(BENCH_ARGS)

messages: install-dev
	$(PY) manage.py makemessages --all --ignore=.venv --ignore=node_modules --ignore=staticfiles --no-obsolete
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) $(NPM_TOOLS)/node_modules staticfiles var .pytest_cache
