# The two commands: `make demo` and `make test`. Each bootstraps uv, creates .venv and installs
# exactly what uv.lock pins.
SHELL := /bin/bash
PYTHON ?= python3
# uv from PATH, else the one pip installs into this Python (`python3 -m uv`).
UV ?= $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
SYNC_STAMP := $(VENV)/.synced

.PHONY: demo test lint bench setup clean bootstrap browser

bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

setup: $(SYNC_STAMP)

$(SYNC_STAMP): pyproject.toml uv.lock | bootstrap
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	@touch $(SYNC_STAMP)

demo: setup
	$(VENV)/bin/lakestack demo $(DEMO_ARGS)

# the console's browser tests drive Debian's Chromium (as root, apt-get installs it when missing)
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) \
		|| echo "no chromium, and it could not be installed: the console's browser tests will skip (or fail under LAKESTACK_REQUIRE_SERVICES=1)"

test: setup browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: setup
	$(VENV)/bin/python benchmarks/lake_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
