# The two commands README.md starts with: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB := sandbox/db.sqlite3
MANAGE := $(BIN)/python sandbox/manage.py

.PHONY: demo demo-studio test test-python test-frontend venv demo-data serve clean messages extract_translations compile_translations \
	detect_changed_source_translations validate_translations

$(BIN)/activate: setup.cfg requirements/base.in requirements/test.in
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/test.in -e .
	touch $(BIN)/activate

venv: $(BIN)/activate

test: test-python test-frontend  ## run the whole test suite: Python (with the browser walk) and the MFE widget

test-python: venv
	$(BIN)/python -m pytest

test-frontend:  ## the learner-dashboard widget in frontend/: unit tests and a production build
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build

demo-data: venv  ## a fresh SQLite demo database with the sample catalog, learners and events
	rm -f $(DEMO_DB)
	$(MANAGE) migrate --no-input
	$(MANAGE) demo_setup
	$(MANAGE) microcred_load sandbox/demo/catalog.yaml
	$(MANAGE) microcred_replay sandbox/demo/events.jsonl

demo: demo-data  ## build the demo data and serve it on 127.0.0.1:8000
	@echo "Admin: http://127.0.0.1:8000/admin/ (admin / admin)"
	@echo "Learner page: http://127.0.0.1:8000/microcred/my/ (sign in at /login/ as ada / ada)"
	@echo "Studio pages (course team): make demo-studio, then http://127.0.0.1:8001/ (carol / carol)"
	$(MANAGE) runserver 127.0.0.1:8000

demo-studio: venv  ## the demo's Studio on 127.0.0.1:8001, on the database `make demo` built (run it beside make demo)
	SANDBOX_LMS_ROOT_URL=http://127.0.0.1:8000 $(BIN)/python sandbox/manage.py runserver 127.0.0.1:8001 --settings=sandbox.cms_settings

clean:
	rm -rf $(VENV) $(DEMO_DB)

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
