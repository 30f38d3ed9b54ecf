# `make run` and `make test` are all the set-up a new user needs: each creates .venv if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/search run --study lr-sched

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) runs

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet 'grpcio>=1.60' 'protobuf>=4'  # for the gRPC storage proxy figure
	$(BIN)/python -m tests.benchmarks.bench $(BENCH_ARGS)  # BENCH_ARGS=--long: 5x the suite's budgets
