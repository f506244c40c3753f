# Microstage: `make run` starts the platform with demo data; `make test` runs the whole suite.
# Both bootstrap everything (.venv, pip, npm) on a machine with Python 3.11+, Node 18+ and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test bench install lint clean-data help

help:
	@echo "make run    start web (HTTP + websockets), Celery worker and beat with demo data on :$(PORT)"
	@echo "make test   run ruff, the layering contract and the pytest suite on PostgreSQL and Redis"
	@echo "make bench  run the benchmarks in bench/ and write bench/results.json"

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(VENV)/.installed node_modules/.installed
	@$(PY) -m microstage.catalogs compile

run: install
	$(PY) -m microstage.devstack run

# Tests shift Redis databases (MICROSTAGE_REDIS_DB_OFFSET) so a running `make run` keeps its data.
test: install
	MICROSTAGE_REDIS_DB_OFFSET=$${MICROSTAGE_REDIS_DB_OFFSET:-4} $(PY) -m microstage.devstack exec -- bash bin/test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m microstage.importcycles

bench: install
	$(PY) -m microstage.devstack exec -- $(PY) -m bench

clean-data:
	rm -rf .data
