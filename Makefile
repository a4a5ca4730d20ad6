# The README's commands. Each target creates and reuses .venv by itself:
# the install step reruns only when pyproject.toml changes.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench venv clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[local,dev]'
	@touch $(STAMP)

venv: $(STAMP)

## run: start the whole system on 127.0.0.1 (embedded PostgreSQL, moto, API)
run: $(STAMP)
	$(BIN)/python infra/local_stack.py

## test: the full test suite, with coverage of layers/ (fails under 80%)
test: $(STAMP)
	$(BIN)/pytest

## lint: formatting, lint, types and the SAM template
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

## bench: benchmarks; results are written to bench/RESULTS.md
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
