# Two commands for a new user: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py

# Two workers: this machine has two cores, and the subprocess and PostgreSQL tests wait more than they compute.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Speed and memory figures as JSON (several minutes: each script makes its own 100,000-case database
# unless given --db FILE; bench_cases.py --pg URL adds PostgreSQL side by side). bench_encryption.py puts
# encrypted and plain side by side; BENCH_WORKDIR=DIR keeps its two databases there for the next run.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cases.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_ui.py
	$(BIN)/python benchmarks/bench_reports.py
	$(BIN)/python benchmarks/bench_dashboard.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_encryption.py $(if $(BENCH_WORKDIR),--workdir $(BENCH_WORKDIR))

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
