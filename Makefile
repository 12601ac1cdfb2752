# The two commands README.md starts with: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB := sandbox/db.sqlite3
MANAGE := $(BIN)/python sandbox/manage.py

.PHONY: demo test test-python test-frontend venv demo-data serve clean messages extract_translations compile_translations

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
	@echo "Learner progress JSON: http://127.0.0.1:8000/microcred/api/v0/progress/ (sign in at /login/ as ada / ada)"
	$(MANAGE) runserver 127.0.0.1:8000

clean:
	rm -rf $(VENV) $(DEMO_DB)
