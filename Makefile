# Two commands for a fresh machine (Python 3.12 via .python-version, pip, apt):
#   make run   create .venv, install, run the baseline, print the summary and where results are
#   make test  create .venv with test extras, run the linters and the whole test suite
# Each install is redone only when pyproject.toml changes (stamp files in .venv).
# Debian packages (python3-venv where Python lacks ensurepip, chromium for the browser
# tests) are installed by .ci/apt-install when this user may; without chromium the
# browser tests are skipped with one line saying how to enable them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench chromium clean

$(BIN)/activate:
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || sh .ci/apt-install python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/tasim run baseline

test: $(VENV)/.installed-dev lint chromium
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

chromium:
	@command -v chromium >/dev/null 2>&1 || sh .ci/apt-install chromium \
		|| echo "browser tests will be skipped"

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) results
