# Two commands for a new user: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-encrypted lint typecheck bench clean dist test-dist

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py

# Two workers: this machine has two cores, and the PostgreSQL and concurrency tests wait more than they compute.
# The command line runs in the test process (tests/helpers/cli.py) and databases are copied from migrated
# templates (tests/conftest.py): a test pays for what it checks, not for Python start-ups and migrations.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2
	$(MAKE) --no-print-directory test-encrypted

# The storage half of the suite again, every SQLite database an SQLCipher one (the product's default for a new
# database): reliability (crash, writers, backup, corruption, disk, migrations, numbering), restore, migrations,
# copy-to, the command line and its attacks, the service, imports, exports, drafts and file modes.
ENCRYPTED_TESTS := tests/test_reliability_*.py tests/test_restore.py tests/test_migrations.py tests/test_transfer.py \
	tests/test_cli.py tests/test_attack_cli.py tests/test_audit_anchor.py tests/test_service.py \
	tests/test_signed_import.py tests/test_exports.py tests/test_drafts.py tests/test_private_files.py
test-encrypted: $(STAMP)
	CASELOG_TEST_ENCRYPTED=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2 -k "not postgresql" \
		$(ENCRYPTED_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Speed and memory figures as JSON (several minutes: each script makes its own 100,000-case database unless given
# databases). BENCH_DBS="10k.sqlite3 100k.sqlite3 1m.sqlite3 postgresql+psycopg://..." measures those instead (only
# read, the 40-case pathway patient aside) and prints each figure's growth table by case count, SQLite and
# PostgreSQL side by side. bench_encryption.py puts encrypted and plain side by side; BENCH_WORKDIR=DIR keeps its
# two databases there for the next run. bench_demo.py times `caselog demo` itself (--cases 1000000 for a network).
BENCH_DB_ARGS := $(foreach db,$(BENCH_DBS),--db $(db))
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cases.py $(BENCH_DB_ARGS)
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_demo.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_ui.py $(BENCH_DB_ARGS)
	$(BIN)/python benchmarks/bench_reports.py $(BENCH_DB_ARGS)
	$(BIN)/python benchmarks/bench_dashboard.py $(BENCH_DB_ARGS)
	$(BIN)/python benchmarks/bench_outcomes.py $(BENCH_DB_ARGS)
	$(BIN)/python benchmarks/bench_followups.py $(BENCH_DB_ARGS)
	$(BIN)/python benchmarks/bench_audit.py $(BENCH_DB_ARGS)
	$(BIN)/python benchmarks/bench_pathway.py $(BENCH_DB_ARGS)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_encryption.py $(if $(BENCH_WORKDIR),--workdir $(BENCH_WORKDIR))

# The installable bundle (docs/install.md): PyInstaller builds dist/caselog/ (the desktop app `caselog-desktop` and
# the `caselog` command sharing one folder of libraries) from packaging/caselog.spec, then the tarball
# dist/caselog-VERSION-linux-x86_64.tar.gz with the .desktop entry and the installer script beside them.
DIST_STAMP := $(VENV)/.dist-installed
$(DIST_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dist]'
	touch $(DIST_STAMP)

dist: $(DIST_STAMP)
	rm -rf dist/caselog
	$(BIN)/python -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/caselog.spec
	cp packaging/caselog.desktop packaging/caselog.svg packaging/install-linux.sh dist/caselog/
	VERSION=$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("caselog"))') && \
		rm -rf dist/caselog-$$VERSION && cp -a dist/caselog dist/caselog-$$VERSION && \
		tar -C dist -czf dist/caselog-$$VERSION-linux-x86_64.tar.gz caselog-$$VERSION && \
		rm -rf dist/caselog-$$VERSION && echo "Built dist/caselog/ and dist/caselog-$$VERSION-linux-x86_64.tar.gz"

# The frozen bundle's smoke test (tests/test_dist.py) on dist/caselog; fails rather than skips when it is missing.
test-dist: $(STAMP)
	CASELOG_DIST_DIR=dist/caselog $(BIN)/python -m pytest -q -p no:xdist tests/test_dist.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
