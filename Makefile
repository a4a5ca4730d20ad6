# The README's commands. Each target creates and reuses .venv by itself:
# the install step reruns only when pyproject.toml or the lock changes.
SHELL := /bin/bash
ROOT_DIR := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# One lock for development, tests and deployment: .venv installs it, and so do
# the Lambda zip packages (layers/core and functions/api read it as pip
# constraints) and the container images. `make lock` resolves it again after a
# change to pyproject.toml; `make lint` checks it (infra/lambda_deps.py).
LOCK := requirements.lock
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
UV_VERSION := 0.13.8

# Rasa 3.6.21 declares Python <3.11 but runs on 3.11 with its pins resolved as for
# 3.10 (bot/requirements.lock), in a virtualenv of its own.
RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed
BOT_MODEL := bot/models/atende.tar.gz
BOT_SOURCES := bot/config.yml bot/domain.yml $(shell find bot/data -type f 2>/dev/null)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: run test lint lock bench venv bot browser emoji-font clean build-CoreLayer

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-r $(LOCK) -e '.[local,ocr,bot,dev]'
	@touch $(STAMP)

# uv resolves the lock; it has a virtualenv of its own, so `make lock` works
# even while pyproject.toml and the lock disagree.
$(UV):
	@test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(RASA_STAMP): bot/requirements.lock
	@test -x $(RASA_VENV)/bin/python || $(PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "pip<26"
	$(RASA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		--ignore-requires-python --no-deps -r bot/requirements.lock
	@touch $(RASA_STAMP)

# Trains only when the bot's data changed (fixed seeds in bot/config.yml).
$(BOT_MODEL): $(RASA_STAMP) $(BOT_SOURCES)
	cd bot && ../$(RASA_VENV)/bin/rasa train --fixed-model-name atende --out models \
		--num-threads 2 --quiet
	@touch $(BOT_MODEL)

venv: $(STAMP)

## browser: Debian's chromium for the console's browser tests (never a
## downloaded browser). Installed with apt when missing and we are root;
## otherwise says what to run. CHROMIUM_PATH names another binary.
browser: emoji-font
	@if [ -n "$$CHROMIUM_PATH" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver >/dev/null; \
	else \
		echo "The console's browser tests need Debian's chromium. Run:" >&2; \
		echo "  sudo apt-get install chromium chromium-driver" >&2; \
		echo "(ou defina CHROMIUM_PATH com o caminho de outro chromium)" >&2; \
		exit 1; \
	fi

# The bot writes emoji ("Oi! 👋"); without a colour emoji font the console's
# screenshots show empty boxes. Only the pictures depend on it: without root
# it is a hint, not a failure.
emoji-font:
	@if fc-list 2>/dev/null | grep -qi "emoji"; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing an emoji font for the console's screenshots..."; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			fonts-noto-color-emoji >/dev/null; \
	else \
		echo "Hint: sudo apt-get install fonts-noto-color-emoji (emoji in screenshots)" >&2; \
	fi

## bot: the Rasa environment and a trained model
bot: $(BOT_MODEL)

## run: start the whole system on 127.0.0.1 (embedded PostgreSQL, moto, API)
run: $(STAMP) $(BOT_MODEL)
	$(BIN)/python infra/local_stack.py

## test: the full test suite, with coverage of layers/ (fails under 80%)
test: $(STAMP) $(BOT_MODEL) browser
	$(BIN)/pytest

## lint: formatting, lint, the packages' dependency rule, types, the SAM
## template, and the Lambda packages: the lock resolved for the runtime's
## platform (binary wheels its glibc loads)
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python infra/lambda_deps.py check

# `sam build` runs this for the core layer (template.yaml: BuildMethod
# makefile), with ARTIFACTS_DIR set and from a scratch directory.
build-CoreLayer:
	$(PYTHON) $(ROOT_DIR)infra/lambda_deps.py build-layer "$(ARTIFACTS_DIR)"

## lock: resolve requirements.lock again (after changing pyproject.toml)
lock: $(UV)
	$(PYTHON) infra/lambda_deps.py lock --uv $(UV)

# Bench-only tools, never runtime dependencies: pywa (the webhook comparison)
# in a folder of its own, on the bench's PYTHONPATH only (its one requirement,
# httpx, is in the lock); Tesseract (the OCR baseline) from Debian's packages.
BENCH_DEPS := $(VENV)/bench-deps
PYWA_VERSION := 4.5.0

## bench: benchmarks; results are written to bench/RESULTS.md
bench: $(STAMP) $(BOT_MODEL)
	$(BIN)/python -m pip install --quiet --no-deps --target $(BENCH_DEPS) pywa==$(PYWA_VERSION)
	command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx por \
		|| { apt-get update && apt-get install -y tesseract-ocr tesseract-ocr-por; }
	PYTHONPATH=$(BENCH_DEPS) $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(RASA_VENV) $(UV_VENV) bot/models .pytest_cache .mypy_cache .ruff_cache .coverage
