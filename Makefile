# OMS developer entry points. Every install step lives here or in devstack/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m devstack.cli

.PHONY: venv stack stop status test run bench bench-store bench-finalize lint clean

$(VENV)/.installed: setup.cfg setup.py
	@echo "[make] creating virtualenv $(VENV) and installing OMS with dev extras ..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

stack: venv  ## install (cached) and start moto, Redis, PostgreSQL, FerretDB, Kafka; idempotent
	$(STACK) up

stop: venv  ## stop everything this checkout started (stack and OMS processes)
	$(STACK) down

status: venv
	$(STACK) status

run: venv  ## the main job: stack + IMS, API, worker, Flower; process sample_orders.csv
	$(STACK) run sample_orders.csv

bench: venv  ## time a generated 100k-row file through the running stack (ROWS=...)
	$(STACK) up --all
	$(PY) benchmarks/bench.py --rows $(or $(ROWS),100000)

bench-store: venv  ## order lookups and listings with ORDERS (default 1M) orders stored
	$(STACK) up --all
	$(PY) benchmarks/store_bench.py --orders $(or $(ORDERS),1000000) --json .stack/store-bench.json

bench-finalize: venv  ## finalization rate and lag for ROWS (default 100k), 1 and 2 finalizers
	$(STACK) up --all
	$(PY) benchmarks/finalize_bench.py --rows $(or $(ROWS),100000) --json .stack/finalize-bench.json

test: stack  ## bring the stack up if needed, then run every test
	$(PY) -m devstack.browser >/dev/null
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv  ## ruff (lint and format) on everything, mypy on oms/ and workers/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean: stop
	rm -rf .stack
