# foodtrace: `make demo` and `make test` work on a fresh machine and are safe to run again.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BENCH  ?=

.PHONY: venv demo test bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

## generate a small Nantong network, load it into the embedded store, report, export RDF
demo: venv
	$(VENV)/bin/foodtrace demo

## run the whole test suite
test: venv
	$(PY) -m pytest

## benchmarks: `make bench` runs all, `make bench BENCH=load` picks one (see bench/README.md)
bench: venv
	$(PY) bench/run.py $(BENCH)

clean:
	rm -rf demo-out bench-out .pytest_cache
