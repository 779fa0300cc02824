# Everything a newcomer needs: `make dev` runs the stack, `make test` proves it works.
VENV ?= .venv
PY := $(VENV)/bin/python
SERVICE ?= api
PYTEST_ARGS ?=
export PYTHONUNBUFFERED := 1

.PHONY: dev run test lint bench compose-config install build system-deps clean \
	dr-drill k8s-render compose-images compose-up compose-down compose-test

$(VENV)/.installed: pyproject.toml setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Cython kernels, rebuilt in place when a .pyx changes (setup.py finds them all).
build: install
	$(PY) setup.py -q build_ext --inplace -j 2

# Debian packages the tests and tools need (fpcalc for the exactness tests, ...).
system-deps:
	sh .ci/apt-install

dev: system-deps build
	$(VENV)/bin/acoustid dev

# One service alone, in the foreground: make run SERVICE=api|web|worker|index|cron
run: build
	$(VENV)/bin/acoustid run $(SERVICE)

test: system-deps build
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs services deploy

bench: system-deps build
	set -e; for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script; done

compose-config:
	sh .ci/compose-config

# Backup, crash, restore on a private local stack; prints RTO and RPO (docs/operations.md).
dr-drill: system-deps build
	$(PY) -m deploy.backup.drill $(DRILL_ARGS)

# The Kubernetes objects of one overlay: make k8s-render OVERLAY=production|dev
OVERLAY ?= production
k8s-render: install
	$(PY) -m deploy.k8s.render deploy/k8s/overlays/$(OVERLAY)

# The stack in containers (deploy/compose): needs dockerd and docker-compose (>= 1.29).
# BASE_IMAGE=debian:bookworm-slim by default; without Docker Hub images.sh builds a local one.
COMPOSE ?= docker-compose
COMPOSE_PROJECT ?= acoustid
COMPOSE_RUN = $(COMPOSE) -p $(COMPOSE_PROJECT) -f deploy/compose/docker-compose.yml \
	--profile frontend --profile backend --profile monitoring

compose-images:
	COMPOSE="$(COMPOSE)" sh deploy/compose/images.sh

compose-up: compose-images
	sh deploy/compose/secrets.sh
	$(COMPOSE_RUN) up -d
	$(COMPOSE_RUN) ps

compose-down:
	$(COMPOSE_RUN) down

compose-test: build compose-images
	COMPOSE="$(COMPOSE)" $(PY) deploy/compose/compose_test.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
	find libs services -name '*.so' -delete
