# The two commands README.md starts with: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB := sandbox/db.sqlite3
# The demo host's cache, shared by its processes (sandbox/settings.py): emptied with the database.
DEMO_CACHE := sandbox/cache
# The demo has three learners: its uptake reports show figures about as few as this many (a
# deployment keeps MICROCRED_REPORT_MIN_COHORT at 10 or more). `make demo DEMO_MIN_COHORT=10` shows
# the suppression instead.
DEMO_MIN_COHORT ?= 1
MANAGE := $(BIN)/python sandbox/manage.py

.PHONY: demo demo-studio paragon-css widget-demo-json test test-python test-frontend venv demo-venv system-packages demo-data serve clean messages extract_translations compile_translations \
	detect_changed_source_translations validate_translations docs-screenshots quality quality-checks quality-pylint \
	quality-pylint-tests quality-pycodestyle quality-pydocstyle quality-isort pii_check lint-imports

# Two stamps in one virtualenv: what the demo needs (pure Python wheels, nothing to build), and on
# top of it what the tests need (mysqlclient builds against Debian's libmariadb-dev: .ci/system-packages).
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test

$(DEMO_STAMP): setup.cfg requirements/base.in requirements/demo.in
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/demo.in -e .
	touch $@

$(TEST_STAMP): $(DEMO_STAMP) requirements/test.in
	.ci/system-packages
	$(BIN)/pip install --quiet -r requirements/test.in
	touch $@

venv: $(TEST_STAMP)

# The quality tools on top of the test environment: pylint-django imports every module.
QUALITY_STAMP := $(VENV)/.installed-quality

$(QUALITY_STAMP): $(TEST_STAMP) requirements/quality.in
	$(BIN)/pip install --quiet -r requirements/quality.in
	touch $@

demo-venv: $(DEMO_STAMP)

test: test-frontend test-python  ## run the whole test suite: the MFE widget (its npm ci serves the browser walk of its dev page), then Python with the browser walk

system-packages:  ## the Debian packages the tests need (Node.js, Chromium, gettext, libmariadb-dev), installed when missing
	.ci/system-packages

test-python: system-packages venv
	$(BIN)/python -m pytest

test-frontend: system-packages  ## the learner-dashboard widget in frontend/: unit tests and a production build
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build

demo-data: demo-venv  ## a fresh SQLite demo database with the sample catalog, learners and events
	rm -rf $(DEMO_DB) $(DEMO_CACHE)
	$(MANAGE) migrate --no-input
	$(MANAGE) demo_setup
	$(MANAGE) microcred_load sandbox/demo/catalog.yaml
	@echo "Replaying the demo's events. Two are rejected on purpose, to show how bad input is kept for an"
	@echo "operator (admin -> Rejected events): a certificate with a broken course key, and a grade for"
	@echo "user id 999, whom this LMS does not have. One is a duplicate and one is stale, also on purpose."
	$(MANAGE) microcred_replay sandbox/demo/events.jsonl
	@echo "The 2 rejected events above are the intended ones: the demo data is complete."

demo: demo-data  ## build the demo data and serve it on 127.0.0.1:8000
	@echo "Admin: http://127.0.0.1:8000/admin/ (admin / admin)"
	@echo "Learner page: http://127.0.0.1:8000/microcred/my/ (sign in at /login/ as ada / ada: every Python level"
	@echo "  up to gold; grace / grace and linus / linus: stacks in progress)"
	@echo "Studio pages (course team): in another terminal, make demo-studio, then http://127.0.0.1:8001/ (carol / carol)"
	SANDBOX_REPORT_MIN_COHORT=$(DEMO_MIN_COHORT) $(MANAGE) runserver 127.0.0.1:8000

demo-studio: demo-venv  ## the demo's Studio on 127.0.0.1:8001, on the database `make demo` built (run it beside make demo)
	SANDBOX_LMS_ROOT_URL=http://127.0.0.1:8000 SANDBOX_REPORT_MIN_COHORT=$(DEMO_MIN_COHORT) $(BIN)/python sandbox/manage.py runserver 127.0.0.1:8001 --settings=sandbox.cms_settings

# --- The quality gate, as Open edX apps have it (tox.ini [testenv:quality] runs quality-checks) -------
# pylint with edx-lint's pylintrc (written by `edx_lint write pylintrc` from pylintrc_tweaks; never
# edit pylintrc), pycodestyle and pydocstyle (tox.ini's sections), isort (setup.cfg's), the PII
# annotations of the models (.pii_annotations.yml) and the layering contracts (.importlinter).
# Migrations are not linted. `make -k quality` runs every check even when one fails.
# PYTHONPATH: the tools import this checkout's package and demo host, as pytest does (pytest.ini).
QUALITY_BIN ?= $(BIN)
QUALITY_RUN := PYTHONPATH=$(CURDIR) DJANGO_SETTINGS_MODULE=sandbox.settings
LINTED := openedx_microcred tests

quality: $(QUALITY_STAMP)  ## the quality gate: pylint, pycodestyle, pydocstyle, isort, PII annotations, import contracts
	$(MAKE) --no-print-directory quality-checks

quality-checks: quality-pylint quality-pylint-tests quality-pycodestyle quality-pydocstyle quality-isort pii_check lint-imports

quality-pylint:
	$(QUALITY_RUN) $(QUALITY_BIN)/pylint openedx_microcred

quality-pylint-tests:
	@# A pytest fixture is a parameter named like a module-level function, and one used for its
	@# effect is never read: pylint-pytest, which tells them apart, fails on pytest 9.
	@# A test's fixtures are injected by name, however many it takes (too-many-positional-arguments),
	@# and `assert x == []` is the stronger test: it checks the type too, where `not x` would let
	@# None, {} or "" pass (use-implicit-booleaness-not-comparison).
	$(QUALITY_RUN) $(QUALITY_BIN)/pylint tests --disable=redefined-outer-name,unused-argument \
		--disable=too-many-positional-arguments,use-implicit-booleaness-not-comparison

quality-pycodestyle:
	$(QUALITY_BIN)/pycodestyle $(LINTED)

# The tests are named by sentences rather than documented by docstrings (as openedx-core's gate).
quality-pydocstyle:
	$(QUALITY_BIN)/pydocstyle openedx_microcred

quality-isort:
	$(QUALITY_BIN)/isort --check-only --diff $(LINTED)

pii_check:  ## every model says what personal data it holds and how it is retired (OEP-30)
	$(QUALITY_RUN) $(QUALITY_BIN)/code_annotations django_find_annotations --config_file .pii_annotations.yml \
		--lint --report --coverage

lint-imports:  ## the layering contracts of .importlinter (skipped while the file is missing)
	@if [ -f .importlinter ]; then \
		echo "$(QUALITY_BIN)/lint-imports"; $(QUALITY_RUN) $(QUALITY_BIN)/lint-imports; \
	else \
		echo "no .importlinter: the import contracts are not checked"; \
	fi

# The course team guide's pictures come from the browser walk (tests/browser/), never by hand:
# docs_screenshot() copies them here, and tests/test_docs.py checks that each is used and produced.
GUIDE_IMAGES := docs/images/course-team

docs-screenshots: system-packages venv  ## retake the course team guide's screenshots (docs/images/course-team/) with the browser walk
	rm -f $(GUIDE_IMAGES)/*.png
	MICROCRED_REQUIRE_BROWSER=1 MICROCRED_DOCS_SCREENSHOTS=$(GUIDE_IMAGES) $(BIN)/python -m pytest -q tests/browser

widget-demo-json: demo-venv  ## the demo learners' dashboard-widget JSON for the widget's dev page (frontend/dev/)
	$(BIN)/python frontend/dev/make_demo_json.py

paragon-css:  ## rebuild the Paragon and brand CSS of the Studio pages from the npm registry (versions in the script)
	scripts/build_paragon_css.sh

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_CACHE)

# --- Translations, as Open edX plugins do them (docs/translations.md) --------------------------------
# The source catalogs live in openedx_microcred/conf/locale/en/LC_MESSAGES/ (django.po, and djangojs.po
# once the JavaScript marks strings itself); translators work on them through openedx-translations.
# makemessages runs inside the package, with the demo LMS's settings, and needs GNU gettext.
I18N_RUN := cd openedx_microcred && DJANGO_SETTINGS_MODULE=sandbox.settings PYTHONPATH=$(CURDIR) $(abspath $(BIN))/django-admin
# Locations by file only: line numbers would change the catalog on every edit.
MAKEMESSAGES := $(I18N_RUN) makemessages -l en --no-wrap --add-location=file --no-obsolete
SOURCE_CATALOGS := openedx_microcred/conf/locale/en/LC_MESSAGES

extract_translations: venv  ## extract the strings marked for translation into the en source catalogs
	mkdir -p openedx_microcred/conf/locale
	$(MAKEMESSAGES) -d django
	$(MAKEMESSAGES) -d djangojs
	@# A new catalog gets makemessages' placeholder header (the Plural-Forms placeholder breaks
	@# Python's gettext); msgmerge keeps the header of an existing one.
	sed -i.bak -e 's/^"Language: \\n"$$/"Language: en\\n"/' \
		-e 's/^"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"$$/"Plural-Forms: nplurals=2; plural=(n != 1);\\n"/' \
		-e 's/^"Project-Id-Version: PACKAGE VERSION\\n"$$/"Project-Id-Version: openedx-microcred\\n"/' \
		$(SOURCE_CATALOGS)/*.po && rm -f $(SOURCE_CATALOGS)/*.po.bak

messages: extract_translations  ## the same, under Django's name

compile_translations: venv  ## compile every catalog under openedx_microcred/conf/locale into .mo files
	$(I18N_RUN) compilemessages

detect_changed_source_translations: venv  ## fail if the committed en catalogs miss strings the code marks (or keep removed ones)
	$(BIN)/python -m pytest -q tests/test_i18n.py -k extraction

validate_translations: venv  ## every visible string of every page is marked (rendered in a pseudo-translation), and the catalogs are current
	$(BIN)/python -m pytest -q tests/test_i18n.py
