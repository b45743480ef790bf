# Two commands do everything on a fresh machine:
#   make run    install, migrate, load demo data, serve on http://127.0.0.1:5000 with a worker beside it
#   make test   install what the tests need and run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# test processes (pytest-xdist): one per core; TEST_WORKERS=0 runs the suite in this one process
TEST_WORKERS ?= auto

.PHONY: run test system-deps system-deps-test serve demo clean

run: system-deps $(VENV)/.installed
	$(BIN)/inspect-app demo
	$(BIN)/inspect-app sweep
	@# the worker (reminders, messages, big PDFs) runs beside the web server and stops with it
	$(BIN)/inspect-app worker & worker=$$!; \
	  trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(BIN)/inspect-app serve --host $(HOST) --port $(PORT)

test: system-deps-test $(VENV)/.installed-test
	$(BIN)/ruff check inspect_app tests scripts
	$(BIN)/lint-imports
	TEST_REDIS=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

system-deps:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) instance test-output
