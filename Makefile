# Bangfu Counter. `make run` serves the demo; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app shop
PORT ?= 8000
HOST ?= 127.0.0.1
WEB_CONCURRENCY ?= 2
WEB_THREADS ?= 4
PYTEST_WORKERS ?= auto
TRANSLATIONS := shop/translations

.PHONY: install install-test run serve serve-command test bench translations lint clean

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

## The production server's command line, for `make serve` and for the test that starts the same server.
## gthread workers: a slow client holds one thread, not a whole worker (README, "Deploying").
SERVE_COMMAND = $(BIN)/gunicorn --worker-class gthread --workers $(WEB_CONCURRENCY) --threads $(WEB_THREADS) \
	--timeout 30 --graceful-timeout 20 --keep-alive 5 \
	--limit-request-line 4094 --limit-request-fields 50 --limit-request-field_size 8190 \
	--bind $(HOST):$(PORT) --access-logfile - 'shop:create_app()'

## Production: gunicorn, honouring PORT, HOST, DATABASE_URL, WEB_CONCURRENCY and WEB_THREADS.
serve: install
	BANGFU_ENV=production $(FLASK) db upgrade
	BANGFU_ENV=production $(SERVE_COMMAND)

## Print the server's command line (tests/feature/test_serving.py starts it).
serve-command:
	@echo "$(SERVE_COMMAND)"

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
