# Shortcuts for the commands README.md and CONTRIBUTING.md document; `make help` lists them.
# Run from the repository root. PYTHONPATH is set so that this checkout is tested even
# when another one is installed in editable mode.
PYTHON ?= python
export PYTHONPATH := $(CURDIR)

.PHONY: help install check format types test-fast test ci

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install:  ## editable install with the pipeline, test and dev extras
	$(PYTHON) -m pip install -e ".[pipeline,test,dev]"

check:  ## lint, format check and type check (no tests)
	ruff check .
	ruff format --check .
	$(PYTHON) -m mypy

format:  ## apply ruff's fixes and formatting
	ruff check --fix .
	ruff format .

types:  ## mypy, strict, on searchers/ and schedulers/ ([tool.mypy])
	$(PYTHON) -m mypy

test-fast:  ## the fast tier: every test that does not start Ray
	$(PYTHON) -m pytest -q -m "not ray"

test:  ## the whole suite, as CI runs it
	$(PYTHON) -m pytest

ci:  ## what .ci/run does after installing: lint, format check, types, the whole suite
	ruff check . && ruff format --check . && $(PYTHON) -m mypy && $(PYTHON) -m pytest
