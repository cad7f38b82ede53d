# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make run   - venv + requirements, then the app on the embedded MNIST sample
#   make test  - venv + test requirements + headless Chromium, then the whole suite
# Also: make bench (benchmarks, printed as tables), make clean.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
# BLAS threads are chosen in code (threadpoolctl) by the app, the tests and the benchmarks.

.PHONY: run test lint bench browser clean help

help:
	@sed -n '1,5p' Makefile

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes.
$(VENV)/.app-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $(VENV)/.app-installed $@

run: $(VENV)/.app-installed
	$(PY) -m streamlit run streamlit_app.py --server.port $(PORT)

# Headless Chromium for the browser tests: Debian's package (Playwright cannot download its own here).
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	    || command -v google-chrome >/dev/null 2>&1; then \
	  echo "browser: $$(command -v chromium || command -v chromium-browser || command -v google-chrome)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser: installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "browser: Chromium not found. Install it and put it on PATH:"; \
	  echo "  Debian/Ubuntu: sudo apt-get install -y chromium   macOS: brew install --cask chromium"; \
	  if [ "$${CI:-}" = "true" ]; then exit 1; fi; \
	fi

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(VENV)/.test-installed browser lint
	$(PY) -m pytest

bench: $(VENV)/.test-installed browser
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis screenshots
