# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make run   - venv + requirements, then the app on the embedded MNIST sample (PORT=8502 for another port)
#   make test  - venv + test requirements + headless Chromium, then the whole suite
# Also: make bench (benchmarks, printed as tables), make clean.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
# Tests run in this many pytest-xdist worker processes (0: all in one process, in file order).
# Two fill a 2-core machine: the browser tests wait on their servers and Chromium while the
# other worker computes; more only queue for the same cores.
TEST_WORKERS ?= 2
# BLAS threads are chosen in code (threadpoolctl) by the app, the tests and the benchmarks.

.PHONY: run test lint bench browser clean help

help:
	@sed -n '1,5p' Makefile

# The first install takes a few minutes and says so; pip lists each package it collects
# (--progress-bar off: one line per step, no bars redrawn over each other).
PIP_INSTALL := $(PY) -m pip install --progress-bar off --disable-pip-version-check

$(PY):
	@echo "make: creating $(VENV) with $(PYTHON) and updating pip (once)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes.
$(VENV)/.app-installed: requirements.txt | $(PY)
	@echo "make: installing the app's packages (requirements.txt) into $(VENV): a few minutes the first time, later runs skip this"
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(PY)
	@echo "make: installing the app's and the tests' packages (requirements-test.txt) into $(VENV): a few minutes the first time, later runs skip this"
	$(PIP_INSTALL) -r requirements-test.txt
	touch $(VENV)/.app-installed $@

run: $(VENV)/.app-installed
	@echo "make: starting the app on port $(PORT) (another port: make run PORT=8502); open the Local URL below"
	$(PY) -m streamlit run streamlit_app.py --server.port $(PORT)

# Headless Chromium for the browser tests: Debian's package (Playwright cannot download its own here).
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	    || command -v google-chrome >/dev/null 2>&1; then \
	  echo "browser: $$(command -v chromium || command -v chromium-browser || command -v google-chrome)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser: installing Debian's chromium (a few minutes the first time)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "browser: Chromium not found. Install it and put it on PATH:"; \
	  echo "  Debian/Ubuntu: sudo apt-get install -y chromium   macOS: brew install --cask chromium"; \
	  if [ "$${CI:-}" = "true" ]; then exit 1; fi; \
	fi

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# worksteal: each worker starts with half of the tests in file order (a module's fixtures are
# mostly made once) and takes over half of the other's remaining tests when it runs out.
test: $(VENV)/.test-installed browser lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

bench: $(VENV)/.test-installed browser
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis screenshots
