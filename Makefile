# Every command a person or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILD := _build
CHAPTERS ?=

# Chapters execute on the bundled MNIST sample in tests and when outputs are regenerated, so that the committed
# outputs are what CI reproduces. `make book-online` (GitHub Pages) executes them afresh on full MNIST instead.
export TUTORIAL_DATA ?= sample
export PYTHONHASHSEED := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install sync test test-unit test-pairs test-notebooks test-browser lint book book-online bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

install: $(STAMP) ## create $(VENV) with the pinned requirements and the helper package (editable)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed, found " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

sync: install ## regenerate chapters/*.ipynb and their outputs from chapters/*.py (CHAPTERS="chapters/04_code_examples.py" for one)
	$(BIN)/python tools/execute_chapters.py $(CHAPTERS)

lint: install ## ruff over src/, tests/, tools/, scripts/ and chapters/
	$(BIN)/ruff check src tests tools scripts chapters conftest.py
	$(BIN)/ruff format --check src tests tools scripts chapters conftest.py

test-unit: install ## unit tests of tutorial_utils
	$(BIN)/python -m pytest -q tests -m "not browser" --ignore=tests/test_pairs.py

test-pairs: install ## every chapters/*.py has an .ipynb twin with identical cells
	$(BIN)/python -m pytest -q tests/test_pairs.py

test-notebooks: install ## execute every chapter with nbval and compare its outputs
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 900 chapters

book: install ## build the HTML book (strict: warnings are errors) from the committed notebooks
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going --path-output .
	@echo "The book is at $(abspath $(BUILD))/html/index.html"

test: lint test-unit test-pairs test-notebooks book ## everything CI runs: lint, unit tests, pair check, nbval, strict book build
	@echo "make test: all checks passed"

bench: install ## run the performance benchmarks at full size: JSON and plots in _build/bench/
	$(BIN)/python tools/bench.py --out $(BUILD)/bench

clean: ## remove build products (keeps $(VENV))
	rm -rf $(BUILD) .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -not -path "./$(VENV)/*" -exec rm -rf {} +
