# Two commands on a fresh machine (python3, make and node present): `make demo`, `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: help venv test lint format package clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements/dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@touch $@

venv: $(STAMP) ## Create .venv with the pinned development dependencies

lint: venv ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv ## Format the Python code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint ## Lint, then run every test with branch coverage (fails under 90%)
	$(BIN)/pytest --cov --cov-report=term

ARCH ?= arm64
package: venv ## Build dist/*.zip and dist/manifest.json (ARCH=arm64|x86_64)
	$(BIN)/python scripts/package.py --arch $(ARCH)

clean: ## Remove build output and caches (keeps .venv)
	rm -rf dist .pytest_cache .ruff_cache .hypothesis .coverage htmlcov
