# Two commands for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
PIP := $(PYTHON) -m pip --disable-pip-version-check -q
# Odoo installed into $(PYTHON), packaged or an editable checkout (`import odoo.release`
# works in both); ODOO_SRC: a checkout that is not installed (tools/odoo_env.py).
HAS_ODOO := $(shell $(PYTHON) -c "import odoo.release" >/dev/null 2>&1 && echo yes)
I18N_FILES := $(wildcard noko_qbo/i18n/*.po noko_qbo/i18n/*.pot)
# The Odoo suite has browser tests (tours): Chromium first, wherever it will run.
ifneq ($(HAS_ODOO)$(ODOO_SRC),)
BROWSER := browser
endif

.PHONY: test install browser lint test-pure test-odoo test-odoo-pytest test-odoo-all drill-storm demo sandbox bench bench-export bench-workers

# Both Odoo runners on one database (about 3 minutes on 2 cores).
test: install $(BROWSER) lint test-pure test-odoo-all drill-storm

install:
	$(PIP) install -r requirements.txt -r requirements-dev.txt -r test-requirements.txt
ifeq ($(HAS_ODOO),yes)
	$(PIP) install -r requirements-odoo.txt
else ifneq ($(ODOO_SRC),)
# (queue_job needs an installed Odoo: tools/odoo_env.py puts it in .odoo-deps instead)
	$(PIP) install $$(grep '^pytest-odoo' requirements-odoo.txt)
endif

# Chromium for the tours: installed (Debian's package) when missing and root with apt-get,
# else a failure saying what to install (tools/browser.py). Never a downloaded browser.
browser:
	$(PYTHON) tools/browser.py

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

# The Odoo suite against a throw-away database. test-odoo: Odoo's own runner (what
# OCA CI runs); test-odoo-pytest: pytest-odoo; test-odoo-all: both on one database.
# Each prints "ODOO SUITE SKIPPED: <reason>" only when there is no Odoo at all.
test-odoo:
	$(PYTHON) tools/odoo_suite.py --runner odoo

test-odoo-all:
	$(PYTHON) tools/odoo_suite.py --runner both

test-odoo-pytest:
	$(PYTHON) tools/odoo_suite.py --runner pytest

# A scripted check on a real server (2 workers, queue_job's runner): a 429 storm longer
# than limit_time_real; the runs must end done, exactly once, no request killed. Skips
# (one line) where Odoo is absent, like the Odoo suite.
drill-storm:
	$(PYTHON) bench/bench_export.py --workers 2 --lines 600 --time-scale 4 --storm 20 --limit-time-real 10 --deadline 900

demo: install
	$(PYTHON) tools/demo.py

sandbox:
	$(PYTHON) -m qbo_sandbox --port 8070

bench:
	$(PYTHON) bench/bench_transport.py

bench-export:
	$(PYTHON) bench/bench_export.py

bench-workers:
	$(PYTHON) bench/bench_export.py --workers 2
