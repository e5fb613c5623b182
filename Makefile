# The two commands: `make run` and `make test`. Both set up everything they need.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
# Links in emails point where web listens, unless SITE_URL says otherwise; a server
# listening on every address is reached as localhost from this machine.
LINK_HOST := $(if $(filter 0.0.0.0 :: [::],$(HOST)),localhost,$(HOST))
SITE_URL ?= http://$(LINK_HOST):$(PORT)

# Executions workers: one per core (each runs one firing loop), or one on the embedded
# SQLite, which takes one writer at a time.
EXECUTION_WORKERS ?= $(if $(DATABASE_URL),$(shell nproc),1)

# The tests use real PostgreSQL and Redis; they create their own database.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cronsvc
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint install install-dev secret migrate services-check clean

run: install secret migrate
	@echo ""
	@echo "  cronsvc is starting: open $(SITE_URL)/  (Ctrl-C stops web, beat and workers;"
	@echo "  the workers first finish the runs they started, which may take a minute)"
	@echo ""
	rm -rf $${VAR_DIR:-var}/metrics
	PORT=$(PORT) HOST=$(HOST) SITE_URL=$(SITE_URL) LOG_FORMAT=$${LOG_FORMAT:-plain} \
		$(PY) scripts/procfile.py start -c worker=$(EXECUTION_WORKERS)

test: install-dev secret services-check
	$(VENV)/bin/ruff check .
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

install: $(VENV)/.installed node_modules/.installed
install-dev: install $(VENV)/.installed-dev

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A secret key of this checkout's own, kept out of git, when SECRET_KEY is not set.
secret: .secret_key
.secret_key:
	python3 -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	chmod 600 $@

migrate:
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py setup_schedules

services-check: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(PY) scripts/check_services.py

clean:
	rm -rf var .pytest_cache .ruff_cache

# The benchmark (bench/README.md): throw-away database and Redis db, real beat and workers.
# make bench ARGS="--scenario precision --jobs 1000"
.PHONY: bench
bench: install-dev secret
	$(PY) bench/run.py $(ARGS)

# The disaster drill (docs/OPERATIONS.md): its own database (cronsvc_drill) and a private
# Redis; writes the figures into docs/OPERATIONS.md. make drill ARGS="--jobs 100"
.PHONY: drill
drill:
	scripts/dr_drill $(ARGS)
