# CloudTally: `make up` runs the local stack, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install up down reset test test-unit test-integration bench clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "pip<26.3"
	$(PY) -m pip install -q -e ".[dev,infra]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

up: install
	$(PY) scripts/stack.py up

down:
	$(PY) scripts/stack.py down

reset: install
	$(PY) scripts/stack.py reset

# Debian's Chromium for the dashboard's browser tests (tests/e2e); Playwright drives it, downloads nothing
.PHONY: browser
browser:
	@test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

test: install browser
	$(PY) -m pytest -n 2 --dist loadfile tests $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: install
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

bench: install
	$(PY) bench/ingest.py --quick

clean:
	rm -rf $(VENV) node_modules .local .pytest_cache
