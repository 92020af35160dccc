# Every target sets up its own environment: a virtual environment in .venv installed from
# requirements.lock (re-installed whenever the lock or pyproject.toml changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCE ?= demo

.PHONY: help venv demo demo-tables lab notebooks references lint test test-all coverage bench validate validate-primary validate-headline validate-nowcast lock clean

help:
	@echo "make demo      generate demo data, ingest it, run every notebook; prints the site's path"
	@echo "make lab       open JupyterLab on notebooks/ (demo data and national tables built first)"
	@echo "make notebooks regenerate notebooks/*.ipynb templates from their py:percent pairs"
	@echo "make lint      ruff (lint and format check) and mypy"
	@echo "make coverage  line coverage of site, manifest and runner from the quick tests"
	@echo "make test      run lint, the tests (not the slow ones) and nbval on notebooks/reference"
	@echo "make references regenerate the executed reference notebooks checked by nbval"
	@echo "make test-all  run every test, slow ones included"
	@echo "make bench     run the benchmarks in benchmarks/"
	@echo "make validate  the simulation study, every scenario at 500 replicates (true slope -0.4 and 0), a republication's count, tables into docs/validation/"
	@echo "make validate-primary  the primary link estimator alone, its four scenarios at 2,000 replicates, both slopes"
	@echo "make validate-headline  the headline as the pages print it, with its warnings, every scenario at 500 replicates"
	@echo "make validate-nowcast   the nowcast of recent years' final charge rates, three scenarios at 500 replicates"
	@echo "make lock      re-resolve requirements.lock from pyproject.toml"

# uv (pinned) installs the lock in seconds where pip takes over a minute; plain pip, which is
# what environment.yml users get, is the fallback when uv cannot be installed.
UV := uv==0.13.9

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if $(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV); then \
	  $(BIN)/python -m uv pip install --quiet --python $(BIN)/python -r requirements.lock; \
	else \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock; \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

# Demo data and its store are rebuilt only when the package changed, so a second `make demo`
# with nothing changed only checks that every report is up to date.
PKG_SRC := $(shell find src/analysis -name "*.py" -o -name "*.csv" -o -name "*.toml" | sort)

data/demo/truth.json: $(STAMP) $(PKG_SRC)
	$(BIN)/stalking-outcomes demo-data --out data/demo

data/processed/demo/quality.json: data/demo/truth.json
	$(BIN)/stalking-outcomes ingest --source demo

outputs/demo/tables/link_model.json: data/processed/demo/quality.json
	$(BIN)/stalking-outcomes tables --source demo > /dev/null
	$(BIN)/stalking-outcomes analyse --source demo > /dev/null

demo: data/processed/demo/quality.json
	$(BIN)/stalking-outcomes run --source demo
	@echo "Report site (GENERATED DEMO DATA): $(CURDIR)/outputs/demo/index.html"

# JupyterLab on the notebooks; jupytext (in the lock) opens the py:percent pairs as notebooks.
lab: demo-tables
	$(BIN)/jupyter lab --notebook-dir=notebooks

notebooks: $(STAMP)
	for f in notebooks/*.py; do $(BIN)/jupytext --to ipynb --update "$$f" -q; done

# The demo data and national tables the reference notebooks read (deterministic: same seed, same code).
demo-tables: outputs/demo/tables/link_model.json

# Lint, format and type checks first (cheap), then unit and integration tests, then nbval
# re-executes the reference notebooks and compares outputs.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint demo-tables
	$(BIN)/python -m pytest -m "not slow" --nbval --nbval-sanitize-with notebooks/reference/sanitize.cfg tests notebooks/reference

# Line coverage of the modules where faults bite, from the quick suite (issue 20's figures)
coverage: demo-tables
	$(BIN)/python -m pytest -m "not slow" -q --cov=analysis.reports.site --cov=analysis.runs.manifest --cov=analysis.runs.runner --cov-report=term-missing tests

references: demo-tables
	$(BIN)/python tools/references.py

test-all: demo-tables
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with notebooks/reference/sanitize.cfg tests notebooks/reference

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/validate.py

# Every scenario at 500 replicates, at the default true slope (power) and at a true slope of 0
# (size), under a republication's count (as the pages compute on published files); the tables
# and the command that made them are copied into docs/validation/ (validation.csv and
# validation_null.csv there are records of an earlier generator, made with the per-year count).
validate: $(STAMP)
	$(BIN)/stalking-outcomes validate-methods --scenario all --reps 500 --recorded-basis edition --out outputs/validation_republication
	$(BIN)/stalking-outcomes validate-methods --scenario all --reps 500 --recorded-basis edition --config docs/validation/null.toml --out outputs/validation_republication_null
	cp outputs/validation_republication/validation.csv docs/validation/validation_republication.csv
	cp outputs/validation_republication/validation_command.txt docs/validation/validation_republication_command.txt
	cp outputs/validation_republication_null/validation.csv docs/validation/validation_republication_null.csv
	cp outputs/validation_republication_null/validation_command.txt docs/validation/validation_republication_null_command.txt

# The nowcast of recent years' final charge rates: three editions a quarter apart per replicate,
# scored against the generator's eventual charges, where charges keep pace with other outcomes
# and where they lag (everywhere, and more where recording rose more).
NOWCAST_SCENARIOS = --scenario baseline --scenario slow_charges --scenario dose_delays
validate-nowcast: $(STAMP)
	$(BIN)/stalking-outcomes validate-methods $(NOWCAST_SCENARIOS) --battery nowcast --reps 500 --out outputs/validation-nowcast
	cp outputs/validation-nowcast/validation.csv docs/validation/validation_nowcast.csv
	cp outputs/validation-nowcast/validation_command.txt docs/validation/validation_nowcast_command.txt

# The primary link estimator alone at 2,000 replicates in the four scenarios it must hold up
# under, both slopes (500 replicates cannot tell its bias and coverage from their targets), under
# a republication's count (validation_primary*.csv in docs/validation/ are records of an earlier
# generator, made with the per-year count).
PRIMARY_SCENARIOS = --scenario baseline --scenario slow_charges --scenario backlog --scenario missing_years
validate-primary: $(STAMP)
	$(BIN)/stalking-outcomes validate-methods $(PRIMARY_SCENARIOS) --battery primary --reps 2000 --recorded-basis edition --out outputs/validation_republication_primary_2000
	$(BIN)/stalking-outcomes validate-methods $(PRIMARY_SCENARIOS) --battery primary --reps 2000 --recorded-basis edition --config docs/validation/null.toml --out outputs/validation_republication_primary_2000_null
	cp outputs/validation_republication_primary_2000/validation.csv docs/validation/validation_republication_primary_2000.csv
	cp outputs/validation_republication_primary_2000/validation_command.txt docs/validation/validation_republication_primary_2000_command.txt
	cp outputs/validation_republication_primary_2000_null/validation.csv docs/validation/validation_republication_primary_2000_null.csv
	cp outputs/validation_republication_primary_2000_null/validation_command.txt docs/validation/validation_republication_primary_2000_null_command.txt

# The headline the pages print, as printed (its interval and warnings), in every scenario at
# 500 replicates, under a republication's count: its coverage, width, power, warned and
# silent-miss rates.
validate-headline: $(STAMP)
	$(BIN)/stalking-outcomes validate-methods --scenario all --reps 500 --battery headline --recorded-basis edition --out outputs/validation_republication_headline
	cp outputs/validation_republication_headline/validation.csv docs/validation/validation_republication_headline.csv
	cp outputs/validation_republication_headline/validation_command.txt docs/validation/validation_republication_headline_command.txt

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e ".[dev,dask,lab]" setuptools==84.2.1
	( echo "# Pinned environment for stalking-outcomes (Python 3.11): every package, exact versions."; \
	  echo "# Regenerate with 'make lock' after changing pyproject.toml; keep environment.yml in step"; \
	  echo "# (tests/test_packaging.py checks that the two agree)."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v '^pip==' ) > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) data/demo data/processed outputs/demo
