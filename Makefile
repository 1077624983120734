# One command each: `make run` (set up if needed, materialize the whole graph) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export SYNTH_ASSETS_OUTPUT_DIR ?= $(CURDIR)/outputs
export GX_ANALYTICS_ENABLED := false

.PHONY: setup run test dev bench lint clean

# Re-installs when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

setup: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

run: setup
	$(BIN)/dagster job execute -m synth_assets.definitions -j synth_all $(if $(CONFIG),-c $(CONFIG))

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

dev: setup
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

bench: setup
	$(BIN)/python bench/dcr.py

lint: setup
	$(BIN)/ruff check synth_assets synth_assets_tests bench

clean:
	rm -rf $(DAGSTER_HOME) outputs
