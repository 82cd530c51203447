# labkit: set-up, demo and tests. Every target creates or reuses the environment in .venv/.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.labkit-installed
TORCH_PIN := torch==2.13.0
# musicnn ships the pretrained taggers' TensorFlow checkpoints that labkit reads (no TensorFlow at run time);
# --no-deps because it declares tensorflow and numpy<1.17, which neither today's numpy nor the kit needs.
MUSICNN_PIN := musicnn==0.1.0
# libpecos (XR-Linear, a peer of GUDN) declares numpy<2 and scipy<1.14 and would downgrade both; its compiled core
# runs with today's (labkit.gudn.peers supplies the two Python helpers that changed), so it goes in with --no-deps too.
PECOS_PIN := libpecos==1.2.8
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: setup demo test lint clean-venv

setup: $(STAMP)

# torch goes in first (a local CPU wheel here), then everything else with that pin as a constraint,
# so that no other package can pull a different torch (and gigabytes of CUDA libraries) in.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	echo "$(TORCH_PIN)" > $(VENV)/constraints.txt
	$(PY) -m pip install --quiet -c $(VENV)/constraints.txt -e ".[gui,ray,dev]"
	$(PY) -m pip install --quiet --no-deps "$(MUSICNN_PIN)" "$(PECOS_PIN)"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/labkit demo

test: setup lint
	$(PY) -m pytest

# ruff (configured in pyproject.toml) over the library, the widgets, the tests and the benchmarks
lint: setup
	$(VENV)/bin/ruff check labkit widgets tests bench

clean-venv:
	rm -rf $(VENV)
