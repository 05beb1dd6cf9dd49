# Everything installs itself into .venv: a fresh machine needs only Python 3.11, pip and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two stamps: what the program needs (demo, install, bench), and the test and lint tools on top.
RUNTIME := $(VENV)/.runtime-stamp
STAMP  := $(VENV)/.installed-stamp
DATA   ?= demo-data
WORKLOAD ?= S

.PHONY: install demo test test-spark lint fmt bench bench-first-run bench-scale bench-spark clean

$(RUNTIME): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME) pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(RUNTIME) ## create .venv with the pinned dependencies of the program (not the test tools)

demo: $(RUNTIME) ## build the demo tenant and run the pipeline on it
	$(BIN)/campaign-reports --data-dir $(DATA) demo

lint: $(STAMP) ## ruff (lint and format check) and mypy over pipeline/
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/ruff format --check pipeline tests bench
	$(BIN)/mypy pipeline
	$(BIN)/lint-imports --no-cache

test: lint ## lint, type check, then the tests (not the Spark ones)
	$(BIN)/pytest -n 2 -q -m "not spark"

test-spark: $(STAMP) ## the Spark job's tests (needs the spark extra and Java 17+)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,spark]'
	$(BIN)/pytest -q -m spark

fmt: $(STAMP)
	$(BIN)/ruff format pipeline tests bench
	$(BIN)/ruff check --fix pipeline tests bench

bench: $(RUNTIME) ## benchmarks (not part of the tests)
	$(BIN)/python bench/startup_bench.py
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/build_bench.py --rows 3000000
	$(BIN)/python bench/render_bench.py
	$(BIN)/python bench/export_bench.py

bench-first-run: $(RUNTIME) ## the demo's first run and next day against a pandas script and plain DuckDB (needs pandas)
	$(BIN)/python bench/first_run_bench.py

bench-spark: $(RUNTIME) ## the Spark job beside the DuckDB build on one store (needs the spark extra)
	$(BIN)/python bench/spark_bench.py

bench-scale: $(RUNTIME) ## the scale benchmark: make bench-scale WORKLOAD=M (S: 1 min, M: 6 min, L: about an hour)
	$(BIN)/python bench/scale_bench.py --workload $(WORKLOAD)

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache
