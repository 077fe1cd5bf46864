# Two commands do all set-up: `make run` (the pipeline) and `make test` (the tests).
# Both (re)create .venv from the pinned dependencies when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Offline machines copy data from a local mirror instead of downloading it:
#   make run DATA_MIRROR=../shared/data     (or export GAN_DATA_MIRROR)
DATA_MIRROR ?= $(GAN_DATA_MIRROR)

# Quiet, offline-friendly defaults for Ray, Prefect, MLflow and DVC (see README "Environment").
export RAY_USAGE_STATS_ENABLED ?= 0
export RAY_AUTH_MODE ?= disabled
export RAY_TRAIN_HEALTH_CHECK_INTERVAL_S ?= 0.2
export RAY_TRAIN_METRICS_ENABLED ?= 0
export RAY_CHDIR_TO_TRIAL_DIR ?= 0
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export PREFECT_LOGGING_LEVEL ?= WARNING
export MLFLOW_DISABLE_TELEMETRY ?= true
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR ?= false
export DVC_NO_ANALYTICS ?= 1
export PYTHONUNBUFFERED ?= 1

.PHONY: venv test test-fast run bench deploy serve clean

venv: $(STAMP)

# torch + torchvision first, from the pinned versions, so no resolver pulls another torch build.
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

test: $(STAMP)
	PREFECT_HOME=$(CURDIR)/.prefect-test $(PY) -m pytest -q

test-fast: $(STAMP)
	PREFECT_HOME=$(CURDIR)/.prefect-test $(PY) -m pytest -q -m "not slow"

run: $(STAMP)
	$(PY) -m flows.run_all $(if $(DATA_MIRROR),--mirror $(DATA_MIRROR),)

bench: $(STAMP)
	$(PY) -m bench.run_all

# Serve a registered model's champion, following the alias: make serve MODEL=mnist-cgan PORT=5055
MODEL ?= mnist-cgan
PORT ?= 5055
serve: $(STAMP)
	$(PY) -m gan_core.serving --model $(MODEL) --port $(PORT)

deploy: $(STAMP)
	$(PY) -m flows.deploy

clean:
	rm -rf $(VENV) .pytest_cache
