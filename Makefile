# One command each: `make run` (set up if needed, materialize the whole graph) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export SYNTH_ASSETS_OUTPUT_DIR ?= $(CURDIR)/outputs
export GX_ANALYTICS_ENABLED := false

.PHONY: setup system-deps run run-tabular run-images run-instructions run-publish test dev bench lint diff clean

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

# the instruction lane is daily partitioned: by default it runs yesterday's (UTC) partition
PARTITION ?= $(shell date -u -d yesterday +%F)
# `dg launch` runs a job of this dg project ([tool.dg] in pyproject.toml) against $DAGSTER_HOME;
# steps fork from a server with the slow imports done (deploy/forkserver_steps.yaml)
DG := $(BIN)/dg
LAUNCH := VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(DG) launch \
	--config deploy/forkserver_steps.yaml

# Every lane, then publish (scorecards, mixes, exports) even when a lane's gate failed: the
# scorecards show why, and the mixes refuse gated-out data themselves. Exits non-zero if any
# run failed.
run: setup
	@status=0; for target in run-tabular run-images run-instructions run-publish; do \
		$(MAKE) --no-print-directory $$target || status=1; done; exit $$status

run-tabular: setup
	$(LAUNCH) --job tabular_lane $(if $(TABULAR_CONFIG),--config $(TABULAR_CONFIG))

run-images: setup
	$(LAUNCH) --job image_lane $(if $(IMAGES_CONFIG),--config $(IMAGES_CONFIG))

run-instructions: setup
	$(LAUNCH) --job instruction_lane --partition $(PARTITION) \
		$(if $(INSTRUCTIONS_CONFIG),--config $(INSTRUCTIONS_CONFIG))

run-publish: setup
	$(LAUNCH) --job publish --partition $(PARTITION) $(if $(PUBLISH_CONFIG),--config $(PUBLISH_CONFIG))

# Debian packages the real-server tests start (PostgreSQL, Redis, headless Chromium + chromedriver);
# installed with apt when missing (as root, or through sudo).
SYSTEM_DEPS_OK := $(shell ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v redis-server >/dev/null && echo yes)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
system-deps:
ifneq ($(SYSTEM_DEPS_OK),yes)
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql chromium chromium-driver redis-server
endif

test: setup system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the UI and the daemon (schedules, sensors); `dagster dev -w workspace.yaml` still works
dev: setup
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(DG) dev --use-active-venv --host 127.0.0.1 --port 3000

bench: setup
	$(BIN)/python bench/dcr.py
	$(BIN)/python bench/llm_throughput.py
	$(BIN)/python bench/images.py
	$(BIN)/python bench/critic.py
	$(BIN)/python bench/synthesizers.py
	$(BIN)/python bench/dedup.py
	$(BIN)/python bench/instruction_utility.py
	$(BIN)/python bench/backfill.py
	$(BIN)/python bench/scale.py

# what changed between two exports: make diff A=<version or export folder> B=<version or folder>
diff: setup
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make diff A=<version or export folder> B=<version or export folder>"; exit 2; }
	@$(BIN)/python -m synth_assets.exports.diff "$(A)" "$(B)" --root "$(SYNTH_ASSETS_OUTPUT_DIR)/exports"

lint: setup
	$(BIN)/ruff check synth_assets synth_assets_tests bench

clean:
	rm -rf $(DAGSTER_HOME) outputs
