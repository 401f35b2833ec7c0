# The two commands a new user needs: `make demo` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit system-deps bench bench-quick clean splunk-addon appinspect test-reliability

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages the tests use (none yet; rsyslog arrives with the syslog connector).
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
	$(BIN)/python -m agent.demo

lint: $(STAMP)
	$(BIN)/ruff check agent connectors tests bench
	$(BIN)/ruff format --check agent connectors tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) system-deps
	$(BIN)/pytest

test: lint typecheck unit appinspect

# The reliability scenarios at full size (200,000-event SIGKILL storm, 2-minute SIEM outage...):
# many minutes. `make test` runs the same scenarios reduced. The table is also written to
# dist/reliability-results.txt.
test-reliability: $(STAMP)
	RELIABILITY_SCALE=full RELIABILITY_RESULTS=dist/reliability-results.txt \
		$(BIN)/pytest tests/reliability -o timeout=3600 -p no:cacheprovider

# Benchmarks print ratios measured side by side in one run and write bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

# The Splunk add-on as Splunk installs it: dist/TA-nordpass-<version>.tgz (its action lookup is
# regenerated from the catalog first).
ADDON := config/splunk/TA-nordpass
splunk-addon: $(STAMP)
	$(BIN)/python -m connectors.splunk_hec.addon $(ADDON) --dist dist

# splunk-appinspect pins structlog <= 24.4, older than the agent's, so it gets a venv of its own
# (inside .venv, so `clean` and .gitignore cover it).
APPINSPECT_VENV := $(VENV)/appinspect
$(APPINSPECT_VENV)/.installed:
	test -x $(APPINSPECT_VENV)/bin/python || $(PYTHON) -m venv $(APPINSPECT_VENV)
	$(APPINSPECT_VENV)/bin/python -m pip install --quiet 'splunk-appinspect>=4.3,<5'
	touch $@

appinspect: $(STAMP) $(APPINSPECT_VENV)/.installed
	@package=$$($(BIN)/python -m connectors.splunk_hec.addon $(ADDON) --dist dist) && \
	$(APPINSPECT_VENV)/bin/splunk-appinspect inspect "$$package" --mode precert \
		--data-format json --output-file dist/appinspect.json > /dev/null && \
	$(BIN)/python -c 'import json, sys; s = json.load(open("dist/appinspect.json"))["summary"]; \
		print("splunk-appinspect:", s); sys.exit(1 if s["failure"] or s["error"] else 0)'

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo
