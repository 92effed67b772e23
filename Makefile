# `make demo` and `make test` work on a fresh machine: they create .venv with the newest
# Python 3.11+ they can find and install prodaudit into it.
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
DEMO      := examples/shopapi
REPORTS   := reports

# Newest interpreter first, so audited code with modern syntax (PEP 695, PEP 701) parses.
# pyenv shims exist for versions that are not active and fail when run: each candidate is
# tried, not just looked up.
PYTHON ?= $(shell for v in 3.14 3.13 3.12 3.11; do \
	  for c in python$$v $$HOME/.pyenv/versions/$$v*/bin/python$$v /usr/bin/python$$v /usr/local/bin/python$$v; do \
	    if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then echo $$c; exit 0; fi; \
	  done; done; echo python3)

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@"$(PYTHON)" -c 'import sys; assert sys.version_info >= (3, 11), "prodaudit needs Python 3.11+, found " + sys.version.split()[0]'
	"$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Every report format, in English and Russian (no date in them: byte-identical between runs).
demo: $(STAMP)
	$(BIN)/prodaudit audit $(DEMO) --no-progress --report-dir $(REPORTS)
	$(BIN)/prodaudit audit $(DEMO) --no-progress --report-dir $(REPORTS) --lang ru > /dev/null
	@echo "reports written to $(REPORTS)/: report.json report.sarif report.md report.html (+ report.ru.md report.ru.html)"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m ruff check src tests

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(REPORTS) .pytest_cache
