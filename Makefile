# The two commands of the README, and what they need. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint browser-deps redis-deps bench-extract bench-search bench-redis clean

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

# Debian's redis-server for the scale-out tests (they start their own on a free port).
redis-deps:
	@scripts/install-redis

lint: setup
	$(BIN)/ruff check .

test: setup browser-deps redis-deps lint
	$(BIN)/pytest -q

bench-extract: setup
	$(BIN)/python bench/extract_bench.py

bench-search: setup
	$(BIN)/python bench/search_bench.py

bench-redis: setup redis-deps
	$(BIN)/python bench/redis_bench.py

clean:
	rm -rf $(VENV) archive.db archive.db-* test-artifacts .pytest_cache
