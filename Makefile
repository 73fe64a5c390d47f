# CloudTally: `make up` runs the local stack, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# The FinOps Foundation's focus-validator (tests/integration/test_focus_validator.py) needs Python >= 3.12:
# its own venv, from pyenv's 3.12 (override with PYTHON312=/path/to/python3.12)
FOCUS_VENV := .venv-focus
PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON312 ?= $(lastword $(sort $(wildcard $(PYENV_ROOT_DIR)/versions/3.12*/bin/python3.12)))

.PHONY: install up down reset test test-unit test-integration bench clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "pip<26.3"
	$(PY) -m pip install -q -e ".[dev,infra]"
	touch $@

$(FOCUS_VENV)/.installed: requirements/focus-validator.txt
	@test -n "$(PYTHON312)" || { echo "focus-validator needs Python 3.12: pyenv install 3.12, or make PYTHON312=/path/to/python3.12" >&2; exit 1; }
	test -x $(FOCUS_VENV)/bin/python || $(PYTHON312) -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/python -m pip install -q -r requirements/focus-validator.txt
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

test: install browser $(FOCUS_VENV)/.installed
	$(PY) -m pytest -n 2 --dist loadfile tests $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: install $(FOCUS_VENV)/.installed
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

bench: install
	$(PY) bench/ingest.py --quick

clean:
	rm -rf $(VENV) $(FOCUS_VENV) node_modules .local .pytest_cache
