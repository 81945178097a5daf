# Two commands from a fresh clone (both create/reuse .venv and install what is missing first; see scripts/env.sh):
#   make train   the main job: every model type on synthetic data, then the summary table
#   make test    the whole test suite (slow cases included); `make test PYTEST_ARGS='-m "not slow"'` is the quick loop
# Settings: TRAIN_ARGS, PYTEST_ARGS, and scripts/env.sh's VENV, PYTHON, TORCH_INDEX_URL, TORCH_SPEC, EXTRAS.

ROOT := $(dir $(abspath $(firstword $(MAKEFILE_LIST))))
TRAIN_ARGS ?= --epochs 10 --num-samples 10000
PYTEST_ARGS ?=

.PHONY: train test env

train:
	$(ROOT)scripts/env.sh nethical-train --model-type all $(TRAIN_ARGS)

test:
	cd $(ROOT) && scripts/env.sh python -m pytest $(PYTEST_ARGS)

env:
	$(ROOT)scripts/env.sh
