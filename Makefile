# The two commands of the README: `make demo` runs the station, `make test` passes all tests.
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= var/demo

.PHONY: demo test lint bench deps clean

deps:
	@scripts/bootstrap.sh

demo: deps
	$(BIN)/edge --data-dir $(DATA) demo

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: deps
	@for b in benchmarks/p*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
