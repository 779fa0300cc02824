# Everything a newcomer needs: `make dev` runs the stack, `make test` proves it works.
VENV ?= .venv
PY := $(VENV)/bin/python
SERVICE ?= api
PYTEST_ARGS ?=
export PYTHONUNBUFFERED := 1

.PHONY: dev run test lint bench compose-config install build system-deps clean axe

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

test: system-deps build axe
	$(PY) -m pytest $(PYTEST_ARGS)

# axe-core for the website's accessibility checks in the browser tests, from the npm
# registry into .dev/npm (never committed); the tests load its axe.min.js from there.
AXE_VERSION := 4.14.1
AXE_JS := .dev/npm/node_modules/axe-core/axe.min.js
$(AXE_JS):
	@command -v npm >/dev/null || { echo "npm is needed for axe-core (apt-get install npm)" >&2; exit 1; }
	mkdir -p .dev/npm
	npm install --silent --no-audit --no-fund --no-save --prefix .dev/npm axe-core@$(AXE_VERSION)

axe: $(AXE_JS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs services

bench: system-deps build
	set -e; for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script; done

compose-config:
	sh .ci/compose-config

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
	find libs services -name '*.so' -delete
