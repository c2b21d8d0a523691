# Two commands for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
PIP := $(PYTHON) -m pip --disable-pip-version-check -q
HAS_ODOO := $(shell $(PYTHON) -c "import odoo.release" >/dev/null 2>&1 && echo yes)
I18N_FILES := $(wildcard noko_qbo/i18n/*.po noko_qbo/i18n/*.pot)

.PHONY: test install lint test-pure test-odoo demo sandbox bench

test: install lint test-pure test-odoo

install:
	$(PIP) install -r requirements.txt -r requirements-dev.txt -r test-requirements.txt
ifeq ($(HAS_ODOO),yes)
	$(PIP) install -r requirements-odoo.txt
endif

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pylint --rcfile=.pylintrc-mandatory noko_qbo
	oca-checks-odoo-module noko_qbo
	oca-checks-po --disable=po-pretty-format $(I18N_FILES)
	$(PYTHON) tools/readme.py check
	$(PYTHON) tools/translations.py check

test-pure:
	$(PYTHON) -m pytest -p no:odoo -p no:cacheprovider tests

# Runs the Odoo suite against a throw-away database, or prints
# "ODOO SUITE SKIPPED: <reason>" when Odoo cannot be imported.
test-odoo:
	$(PYTHON) tools/odoo_suite.py

demo: install
	$(PYTHON) tools/demo.py

sandbox:
	$(PYTHON) -m qbo_sandbox --port 8070

bench:
	$(PYTHON) bench/bench_transport.py
