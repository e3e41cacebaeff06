# keyaccount: the few targets people type.
#   make demo    create .venv if missing, install, run `keyaccount demo`
#   make test    install, then ruff, mypy (strict) and pytest
#   make check   ruff and mypy only
#   make bench   run the scripts in benchmarks/ (slow; never part of `make test`)
#   make docs    serve the documentation site (mkdocs) at http://127.0.0.1:8000
#   make clean   remove the virtual environment, caches and build output

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Re-install when pyproject.toml changes; otherwise the install step is a no-op.
STAMP := $(VENV)/.keyaccount-installed

.DEFAULT_GOAL := help
.PHONY: help install demo test check lint types bench docs clean

help:
	@echo "make demo    create $(VENV) if missing, install, run 'keyaccount demo'"
	@echo "make test    install, then ruff check, ruff format --check, mypy and pytest"
	@echo "make check   ruff and mypy only"
	@echo "make bench   run the scripts in benchmarks/"
	@echo "make docs    serve the documentation site at http://127.0.0.1:8000"
	@echo "make clean   remove $(VENV), caches and build output"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip >= 25.1 installs dependency groups (`--group dev`, PEP 735).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e . --group dev
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/keyaccount demo

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check

types: $(STAMP)
	$(BIN)/mypy

check: lint types

test: check
	$(BIN)/pytest

bench: $(STAMP)
	@set -e; found=0; \
	for script in benchmarks/*.py; do \
		[ -e "$$script" ] || continue; found=1; \
		echo "== $$script"; $(BIN)/python "$$script"; \
	done; \
	[ "$$found" = 1 ] || echo "no benchmark scripts in benchmarks/"

# tests/test_docs_site.py builds the same site with --strict as part of `make test`.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) build dist site .pytest_cache .mypy_cache .ruff_cache .hypothesis bench-out
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
