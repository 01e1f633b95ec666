# Two entry points: `make serve` (install, train if needed, serve) and `make test`.
# Both create a virtual environment in .venv and install into it, so they work on
# a fresh machine with only python3 (3.11+) and make.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?= $(or $(SURFSERVE_MODEL_PATH),models/surface.pt)

.PHONY: serve train test lint clean

serve: $(VENV)/.installed
	$(PY) -m training --skip-existing --out $(MODEL)
	SURFSERVE_MODEL_PATH=$(MODEL) $(PY) -m service

train: $(VENV)/.installed
	$(PY) -m training --out $(MODEL)

test: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# torch is pinned to one release in pyproject.toml; see the README on CPU wheels.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
