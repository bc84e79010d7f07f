# The two commands of the README, and what they need. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint browser-deps bench-extract bench-search wheel-smoke clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

setup: $(BIN)/.installed

# Crawl the bundled sample web into archive.db, then serve it with Datasette on http://127.0.0.1:8001/
demo: setup
	$(BIN)/govbrief demo --db archive.db

# Debian's chromium + chromedriver for the browser test (needs root or sudo; skipped otherwise).
browser-deps:
	@scripts/install-chromium

lint: setup
	$(BIN)/ruff check .

test: setup browser-deps lint
	$(BIN)/pytest -q

# The wheel in a fresh virtualenv, served from another directory (CI runs it after `make test`).
wheel-smoke: setup
	scripts/wheel-smoke

bench-extract: setup
	$(BIN)/python bench/extract_bench.py

bench-search: setup
	$(BIN)/python bench/search_bench.py

clean:
	rm -rf $(VENV) archive.db archive.db-* test-artifacts .pytest_cache build dist
