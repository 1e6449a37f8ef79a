# foodtrace: `make demo` and `make test` work on a fresh machine and are safe to run again.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BENCH  ?=

.PHONY: venv demo test audit bench neo4j-start neo4j-stop clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

## generate a small Nantong network, load it into the embedded store, report, export RDF
demo: venv
	$(VENV)/bin/foodtrace demo

## run the whole test suite: the contract suite runs on the embedded store and on a local Neo4j server,
## which this target starts (and stops) itself when Java and Maven are on the machine; Debian's chromium
## (for the consumer-page browser test) is installed when missing
test: venv
	@bash scripts/apt-ensure.sh chromium || echo "chromium could not be installed: the browser test will be skipped"
	@if command -v java >/dev/null && command -v mvn >/dev/null; then \
	    bash scripts/neo4j/start.sh || exit 1; \
	    status=0; FOODTRACE_REQUIRE_NEO4J=1 $(PY) -m pytest || status=$$?; \
	    bash scripts/neo4j/stop.sh; exit $$status; \
	else \
	    echo "no Java/Maven here: the Neo4j tests will be skipped"; $(PY) -m pytest; \
	fi
	$(PY) scripts/audit.py

## known vulnerabilities in the installed dependencies (pip-audit against PyPI's vulnerability data; fails on
## one; says so and passes when the service cannot be reached)
audit: venv
	$(PY) scripts/audit.py

## start/stop the local Neo4j 5.26 test server (jars from Maven Central, cached in .cache/neo4j; auth off, 127.0.0.1 only)
neo4j-start:
	bash scripts/neo4j/start.sh

neo4j-stop:
	bash scripts/neo4j/stop.sh

## benchmarks: `make bench` runs all, `make bench BENCH=load` picks one (see README)
bench: venv
	$(PY) bench/run.py $(BENCH)

clean:
	rm -rf demo-out bench-out .pytest_cache
