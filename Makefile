# Everything a newcomer needs: `make dev` runs the stack, `make test` proves it works.
VENV ?= .venv
PY := $(VENV)/bin/python
SERVICE ?= api
PYTEST_ARGS ?=
export PYTHONUNBUFFERED := 1

.PHONY: dev run test test-quick lint bench compose-config install build system-deps clean

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

# The pure unit tests (marker `quick`: no server, no database), for the edit-test loop.
test-quick: build
	$(PY) -m pytest -m quick -q $(PYTEST_ARGS)

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
