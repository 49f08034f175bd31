# Every command a person or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILD := _build
CHAPTERS ?=
# Debian's chromium package for the browser test (no browser is downloaded); empty: the browser part is skipped.
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || true)
# MNIST for `make book-online` (GitHub Actions runners have internet): full, or auto to fall back to the sample.
ONLINE_DATA ?= full

# Chapters execute on the bundled MNIST sample in tests and when outputs are regenerated, so that the committed
# outputs are what CI reproduces. `make book-online` (GitHub Pages) executes them afresh on full MNIST instead.
export TUTORIAL_DATA ?= sample
export PYTHONHASHSEED := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Committed outputs are CPU outputs; on a machine with a GPU, regenerating or checking them still runs on the CPU.
sync test-notebooks test-colab: export TUTORIAL_DEVICE := cpu
sync test-notebooks test-colab: export CUDA_VISIBLE_DEVICES :=

.PHONY: help install sync test test-unit test-pairs test-notebooks test-colab test-browser lint book book-online bench clean

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

lint: install ## ruff over src/, tests/, tools/, scripts/, _ext/ and chapters/
	$(BIN)/ruff check src tests tools scripts _ext chapters conftest.py
	$(BIN)/ruff format --check src tests tools scripts _ext chapters conftest.py

test-unit: install ## unit tests of tutorial_utils
	$(BIN)/python -m pytest -q tests -m "not browser" --ignore=tests/test_pairs.py --ignore=tests/test_colab_run.py

test-pairs: install ## every chapters/*.py has an .ipynb twin with identical cells
	$(BIN)/python -m pytest -q tests/test_pairs.py

test-notebooks: install ## execute every chapter with nbval and compare its outputs
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 900 chapters

test-colab: install ## run every chapter as on Colab: its .ipynb alone, Colab forced on, helpers pip-installed (slow)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_colab_run.py

book: install ## build the HTML book (strict: warnings are errors) from the committed notebooks
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going --path-output .
	@echo "The book is at $(abspath $(BUILD))/html/index.html"

book-online: install ## build the book as GitHub Pages serves it: every chapter executed afresh on full MNIST, strict
	$(BIN)/python _ext/online_config.py $(BUILD)/online/_config.yml
	TUTORIAL_DATA=$(ONLINE_DATA) $(BIN)/jupyter-book build . --all --config $(BUILD)/online/_config.yml \
		--warningiserror --nitpick --keep-going --path-output .
	@echo "The book is at $(abspath $(BUILD))/html/index.html"

test-browser: book ## check the built book: links, outputs, Colab links, then headless Chromium (screenshots in _build/screenshots)
	@if [ -z "$(CHROMIUM)" ]; then \
		echo "SKIPPED: browser test (chromium not found: apt-get install chromium, or set CHROMIUM=/path/to/chromium)"; fi
	CHROMIUM="$(CHROMIUM)" $(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests/test_browser.py

test: lint test-unit test-pairs test-notebooks test-colab book test-browser ## everything CI runs: lint, unit, pairs, nbval, Colab run, strict book, browser
	@echo "make test: all checks passed"

bench: install ## run the performance benchmarks at full size: JSON and plots in _build/bench/
	$(BIN)/python tools/bench.py --out $(BUILD)/bench

clean: ## remove build products (keeps $(VENV))
	rm -rf $(BUILD) .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -not -path "./$(VENV)/*" -exec rm -rf {} +
