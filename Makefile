# The two commands: `make demo` runs the nightly story on shipped data,
# `make test` runs lint, the architecture contract and the whole test suite.
# Both create .venv and install the project from pyproject.toml when needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint install chromium postgresql benchmarks templates clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,notebooks,postgres]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/modelhealth demo

lint: $(STAMP)
	$(BIN)/ruff check thresholds monitor ladder modelhealth tests benchmarks
	$(BIN)/ruff format --check thresholds monitor ladder modelhealth tests benchmarks
	$(BIN)/lint-imports

# The HTML report is tested in a real headless Chromium (Debian's package).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the HTML report tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The state store is tested on a throwaway PostgreSQL server too (Debian's binaries,
# found as /usr/lib/postgresql/<major>/bin whatever the major version).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the state store tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

test: lint chromium postgresql
	$(BIN)/python -m pytest -q

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The HTML report's template ships compiled; run this after editing it (a test says when).
templates: $(STAMP)
	$(BIN)/python -c "from modelhealth.outputs.html.render import compile_templates as c; print(c())"

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache .mypy_cache
