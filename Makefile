# The two commands that matter: `make demo` and `make test`. Everything they need is installed from here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup layers browser synth demo test lint typecheck unit clean bench

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml requirements-test.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[infra,local,dev]' -r requirements-test.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Lambda layers for python3.12, built without Docker (pip --platform ... --only-binary=:all:).
layers: $(VENV)/.installed
	$(BIN)/python layers/build_layers.py

# Debian's chromium for tests/browser (Playwright's own browser download is not used: never `playwright install`).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

synth: setup layers
	npx cdk synth -q

lint: $(VENV)/.installed
	$(BIN)/ruff check functions infra tests bench
	$(BIN)/ruff format --check functions infra tests bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# Every core: tests of one file share a worker (their module fixtures, e.g. one synthesized stack, are built once).
test: setup layers browser lint typecheck
	$(BIN)/pytest -q -n auto --dist loadfile

demo: setup layers
	$(BIN)/takedown demo

# Detection accuracy and speed (about 6-10 minutes, bounded by --budget-minutes), then crawl, pipeline and load on
# the local stack (about 25 minutes more); rewrites the marked blocks of docs/BENCHMARKS.md.
bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) node_modules cdk.out layers/build build .takedown demo-out
