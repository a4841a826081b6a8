# The same targets serve people and CI (.ci/run calls them). Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: install run demo console test lint format typecheck check bench lock clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "spendbot needs Python 3.11 or newer (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/spendbot run

demo: $(STAMP)
	$(BIN)/spendbot demo

console: $(STAMP)
	$(BIN)/spendbot console

# The suite runs in TEST_WORKERS processes (pytest-xdist; 0: in this one). It waits on loopback servers,
# bot subprocesses and PostgreSQL about half its time, so two workers halve it even on two cores.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

format: $(STAMP)
	$(BIN)/ruff format bot tests bench
	$(BIN)/ruff check --fix bot tests bench

typecheck: $(STAMP)
	$(BIN)/mypy bot

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python bench/ack.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/commands.py
	$(BIN)/python bench/fanout.py

lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv && .lockvenv/bin/pip install --quiet .
	(echo "# Pinned runtime dependencies: the Dockerfile installs exactly these; 'make install' uses them as constraints."; \
	 echo "# Regenerate with 'make lock' after changing the dependencies in pyproject.toml."; \
	 .lockvenv/bin/pip freeze --exclude-editable | grep -v '^spendbot') > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
