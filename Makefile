# OMS developer entry points. Every install step lives here or in devstack/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m devstack.cli

.PHONY: venv lock audit stack stop status test run bench bench-store bench-finalize lint clean

# Dependencies are declared in setup.cfg (lower bounds) and installed from the hashed lock
# files, compiled from it by `make lock` for CPython 3.11 on Linux x86_64:
# requirements/main.txt (install_requires) and requirements/dev.txt (plus the dev extra,
# constrained by main.txt so the shared pins agree).
LOCKS := requirements/main.txt requirements/dev.txt
LOCK_FLAGS := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--generate-hashes --custom-compile-command 'make lock' --quiet \
	$(if $(UPGRADE),--upgrade) $(if $(PACKAGE),--upgrade-package $(PACKAGE))

$(VENV)/.deps: $(LOCKS)
	@echo "[make] creating virtualenv $(VENV) and installing the locked dependencies ..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements/dev.txt
	touch $@

$(VENV)/.installed: $(VENV)/.deps $(LOCKS) setup.cfg setup.py
	$(PY) -m pip install -q --no-deps -e .
	@# fails when setup.cfg asks for what the lock lacks: run `make lock`
	$(PY) -m pip check
	touch $@

venv: $(VENV)/.installed

lock: $(VENV)/.deps  ## recompile requirements/*.txt from setup.cfg, keeping pins (UPGRADE=1: all newest; PACKAGE=name: one)
	$(VENV)/bin/uv pip compile setup.cfg $(LOCK_FLAGS) -o requirements/main.txt
	$(VENV)/bin/uv pip compile setup.cfg --extra dev -c requirements/main.txt $(LOCK_FLAGS) -o requirements/dev.txt

audit: $(VENV)/.deps  ## pip-audit on the locked requirements, bounded in time (requirements/audit.py)
	$(PY) requirements/audit.py

stack: venv  ## install (cached) and start moto, Redis, PostgreSQL, FerretDB, Kafka; idempotent
	$(STACK) up

stop: venv  ## stop everything this checkout started (stack and OMS processes)
	$(STACK) down

status: venv
	$(STACK) status

run: venv  ## the main job: stack + IMS, API, worker, Flower; process sample_orders.csv
	$(STACK) run sample_orders.csv

bench: venv  ## OMS end to end vs references, 100k and 1M rows, 1 and 2 workers (ROWS, RUNS) -> BENCHMARKS.md
	$(STACK) up --all
	$(PY) benchmarks/pipeline_bench.py --rows $(or $(ROWS),100000 1000000) --runs $(or $(RUNS),3) \
		--json benchmarks/results/pipeline_bench.json --markdown BENCHMARKS.md

bench-store: venv  ## order lookups and listings with ORDERS (default 1M) orders stored
	$(STACK) up --all
	$(PY) benchmarks/store_bench.py --orders $(or $(ORDERS),1000000) --json .stack/store-bench.json

bench-finalize: venv  ## finalization rate and lag for ROWS (default 100k), 1 and 2 finalizers
	$(STACK) up --all
	$(PY) benchmarks/finalize_bench.py --rows $(or $(ROWS),100000) --json .stack/finalize-bench.json

bench-ingestion: venv  ## one upload of ROWS (default 1M) to completed: first order, API and worker peak RSS
	$(STACK) up --all
	$(PY) benchmarks/ingestion_probe.py --rows $(or $(ROWS),1000000) --json .stack/ingestion-probe.json

bench-http: venv  ## wrk on /stats and /orders/<id>, 8 connections, 30 s (with UPLOADS uploads)
	$(STACK) up --all
	$(PY) benchmarks/http_bench.py --uploads $(or $(UPLOADS),1000) --json .stack/http-bench.json

bench-fairness: venv  ## a 5-row upload while a ROWS-row one runs (default 100k)
	$(STACK) up --all
	$(PY) benchmarks/fairness_bench.py --rows $(or $(ROWS),100000) --json .stack/fairness-bench.json

chaos: venv  ## uploads of ROWS (default 100k) under faults: kills, outages (RELIABILITY.md)
	$(STACK) up
	$(PY) benchmarks/chaos.py --rows $(or $(ROWS),100000) --json .stack/chaos.json

fuzz: venv  ## FILES (default 10,000) generated hostile files through the pipeline
	$(STACK) up
	$(PY) benchmarks/fuzz.py --files $(or $(FILES),10000) --parallel $(or $(PARALLEL),6) --json .stack/fuzz.json

test: stack  ## bring the stack up if needed, then run every test
	$(PY) -m devstack.browser >/dev/null
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv  ## ruff (lint and format) on everything, mypy on oms/ and workers/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean: stop
	rm -rf .stack
