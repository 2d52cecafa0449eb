# Bangfu Counter. `make run` serves the demo; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app shop
PORT ?= 8000
HOST ?= 127.0.0.1
WEB_CONCURRENCY ?= 2
PYTEST_WORKERS ?= auto
TRANSLATIONS := shop/translations

.PHONY: install install-test run serve test bench translations lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Serve the demo on http://127.0.0.1:5000 with SQLite and demo data.
run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

## Production: gunicorn, honouring PORT, HOST, DATABASE_URL and WEB_CONCURRENCY.
serve: install
	BANGFU_ENV=production $(FLASK) db upgrade
	BANGFU_ENV=production $(BIN)/gunicorn --workers $(WEB_CONCURRENCY) --bind $(HOST):$(PORT) \
		--access-logfile - 'shop:create_app()'

## The whole suite: on SQLite, and on PostgreSQL too when PG* or TEST_DATABASE_URL say where;
## spread over PYTEST_WORKERS processes (pytest-xdist; `auto` is one per core, 0 runs in this process).
test: install-test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check shop admin tests bench
	$(BIN)/ruff format --check shop admin tests bench

## Measure the app beside a bare baseline; prints a table and writes bench/results.json.
bench: install-test
	$(BIN)/python -m bench

## Re-extract messages, merge them into the catalogs and compile them.
translations: install
	$(BIN)/pybabel extract -F shop/babel.cfg -k _l -o $(TRANSLATIONS)/messages.pot \
		--no-location --no-wrap --sort-output --project "Bangfu Counter" .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --ignore-obsolete --no-fuzzy-matching --no-wrap
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache .hypothesis
