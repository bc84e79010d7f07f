# The two commands of the README, and what they need. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint browser-deps redis-deps bench-extract bench-search bench-redis wheel-smoke test-datasette-next clean

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

# The wheel in a fresh virtualenv, served from another directory (CI runs it after `make test`).
wheel-smoke: setup
	scripts/wheel-smoke

# Test matrix entry for Datasette 1.0 (off in CI until the port in docs/datasette-1.0.md is done:
# DATASETTE_NEXT=on .ci/run). A separate venv with the newest 1.0 pre-release over the normal install.
DATASETTE_NEXT_SPEC ?= datasette>=1.0a20
test-datasette-next:
	$(PYTHON) -m venv .venv-datasette-next
	.venv-datasette-next/bin/pip install --quiet -e '.[test]'
	.venv-datasette-next/bin/pip install --quiet --pre --upgrade '$(DATASETTE_NEXT_SPEC)'
	.venv-datasette-next/bin/pytest -q tests/test_public_server.py tests/test_datasette_search.py \
	  tests/test_datasette_provenance.py tests/test_security.py

bench-extract: setup
	$(BIN)/python bench/extract_bench.py

bench-search: setup
	$(BIN)/python bench/search_bench.py

bench-redis: setup redis-deps
	$(BIN)/python bench/redis_bench.py

clean:
	rm -rf $(VENV) .venv-datasette-next archive.db archive.db-* test-artifacts .pytest_cache build dist
