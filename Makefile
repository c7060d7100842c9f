# The two commands: `make demo` runs the nightly story on shipped data,
# `make test` runs lint, the architecture contract and the whole test suite.
# Both create .venv and install the project from pyproject.toml when needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint install benchmarks clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,notebooks]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/modelhealth demo

lint: $(STAMP)
	$(BIN)/ruff check thresholds monitor ladder modelhealth tests benchmarks
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache .mypy_cache
