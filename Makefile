# make demo: a virtualenv (newest Python 3.11+ found), prodaudit installed, every report
#            format for examples/shopapi written to reports/ (English and Russian).
# make test: the whole test suite in that virtualenv.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& echo $$p && break; done)
VENV := .venv
EXAMPLE := examples/shopapi
REPORTS := reports

.PHONY: demo test

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "need Python 3.11 or newer"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/prodaudit audit $(EXAMPLE) --no-progress --report-dir $(REPORTS)
	$(VENV)/bin/prodaudit audit $(EXAMPLE) --no-progress --lang ru --report-dir $(REPORTS) > /dev/null
	@echo "reports: $(REPORTS)/report.md report.ru.md report.html report.ru.html report.json report.sarif"

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -q
