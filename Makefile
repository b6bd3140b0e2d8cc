# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# dbt's own environment: dagster-dbt runs dbt as a subprocess, and dbt-core imported in the Dagster venv
# cost every Dagster process 1.2 s (docs/architecture.md, "Start-up costs"). resources/dbt.py finds it.
DBT_VENV := .venv-dbt
UV_VERSION := 0.13.9
export PODEMOS_HOME ?= $(CURDIR)/.podemos
export DAGSTER_HOME ?= $(PODEMOS_HOME)/dagster_home
export PYTHONWARNINGS ?= ignore::UserWarning:dagster

.PHONY: install install-dev demo demo-full test lint test-week ui bench ingest snapshot clean

$(BIN)/uv:
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# Every install goes through constraints.txt: exact versions, no resolver backtracking.
# --compile-bytecode: uv, unlike pip, leaves the .pyc to the first import, which never writes them where
# PYTHONDONTWRITEBYTECODE is set (as on our CI machines); every Dagster process (code server, run worker,
# step) then compiled dagster, dbt and pandas from source: 10.5 s per definitions load instead of 4.4 s.
UV_INSTALL := $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -c constraints.txt
# The Makefile is a prerequisite: a venv installed before a change of these recipes is installed again.
$(VENV)/.installed: $(BIN)/uv setup.py constraints.txt Makefile
	@echo "==> installing podemos-assets into $(VENV) (pinned by constraints.txt)"
	@time $(UV_INSTALL) -e .
	@# A venv from before dbt had its own environment still holds dbt-core, which dagster-dbt would import.
	@$(BIN)/uv pip uninstall -q --python $(BIN)/python dbt-core dbt-duckdb dbt-redshift dbt-postgres dbt-adapters dbt-common dbt-protos dbt-extractor dbt-semantic-interfaces 2>/dev/null || true
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	@echo "==> installing test, Spark and production extras"
	@time $(UV_INSTALL) -e '.[dev,spark,prod]'
	@touch $@

DBT_INSTALL := $(BIN)/uv pip install -q --compile-bytecode --python $(DBT_VENV)/bin/python -c constraints.txt
$(DBT_VENV)/.installed: $(BIN)/uv sql/requirements.txt constraints.txt Makefile
	@echo "==> installing dbt into $(DBT_VENV) (sql/requirements.txt)"
	@$(BIN)/uv venv -q --allow-existing --python $(BIN)/python $(DBT_VENV)
	@time $(DBT_INSTALL) -r sql/requirements.txt
	@touch $@

# The Redshift adapter too, for the tests that compile the `prod` target.
$(DBT_VENV)/.installed-dev: $(DBT_VENV)/.installed sql/requirements-prod.txt
	@time $(DBT_INSTALL) -r sql/requirements-prod.txt
	@touch $@

# The dbt manifest, once per content of sql/ (a digest check when nothing changed): definitions loads
# never run `dbt parse` themselves unless sql/ changed since.
# Our own package is installed editable, so its bytecode is compiled here (only files changed since).
install: $(VENV)/.installed $(DBT_VENV)/.installed
	@$(BIN)/python -m compileall -q podemos_assets
	@$(BIN)/python -m podemos_assets.resources.dbt
install-dev: $(VENV)/.installed-dev $(DBT_VENV)/.installed-dev
	@$(BIN)/python -m compileall -q podemos_assets podemos_assets_tests
	@$(BIN)/python -m podemos_assets.resources.dbt

demo: install
	@$(BIN)/podemos instance-setup
	@time $(BIN)/podemos generate
	@time $(BIN)/podemos demo

# The whole company: all 200 branches for the demo's days (not measured since the demo walks nights through the automation).
demo-full: install
	@$(BIN)/podemos instance-setup
	@time $(BIN)/podemos generate --branches 200
	@time $(BIN)/podemos demo

# The lint first (ruff.toml; seconds), then the suite.
test: install-dev lint
	$(BIN)/python -m pytest -n 2  # two workers: the machine has two cores

lint: install-dev
	$(BIN)/ruff check .

# The simulated week on real MariaDB branches, run only by the automation (~11 min on 2 cores: beyond
# make test's 15-minute budget, so its own target; podemos_assets_tests/sucursales/test_week.py).
test-week: install-dev
	PODEMOS_WEEK_TEST=1 $(BIN)/python -m pytest -s podemos_assets_tests/sucursales/test_week.py

ui: install
	@$(BIN)/podemos instance-setup
	@echo "==> Dagster UI on http://127.0.0.1:3000 (instance: $(DAGSTER_HOME))"
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

ingest: install
	$(BIN)/podemos ingest serve

bench: install-dev
	@# synthetic_history.py (the history) and stand_in_sucursales.py (the stand-in extraction) are parts of
	@# instance_history.py, not benchmarks of their own
	@set -e; for b in benchmarks/*.py; do case "$$b" in */synthetic_history.py|*/stand_in_sucursales.py) continue;; esac; \
	  echo "==> $$b"; $(BIN)/python $$b; done

# Rewrite the generated files the tests compare against (asset-graph snapshot, Redshift roles, the README's
# screenshot of the graph) after an intended change; review the diff.
snapshot: install-dev
	PODEMOS_UPDATE_SNAPSHOT=1 $(BIN)/python -m pytest -q podemos_assets_tests/test_definitions.py \
	  podemos_assets_tests/gobierno/test_access.py podemos_assets_tests/ui/test_asset_graph_ui.py

clean:
	rm -rf .podemos
