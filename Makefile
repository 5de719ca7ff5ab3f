# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast chromium bench bench-core bench-objectives bench-sweep bench-batch bench-ratios bytecode lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/equalize solve instances/korea-17

# lint first: a back-edge between stages or a lint error fails the build before any test runs.
# The HTML report's acceptance tests render it in headless Chromium (Debian's package): installed
# here when missing (CI runs as root; no sudo).
test: lint chromium
	$(BIN)/python -m pytest -n 2 -q

chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

test-fast: lint
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

# Each writes a markdown table in bench/; all together take about 40 minutes on 2 cores.
bench: bench-core bench-objectives bench-sweep bench-batch bench-ratios

# The package's bytecode, compiled once: an editable install writes no .pyc, and where
# PYTHONDONTWRITEBYTECODE is set nothing ever does, so every run compiled our ~150 modules
# again (0.13 s of `equalize solve`'s start-up); a stale .pyc is ignored, never used.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q optimizer models bench

bench-core: bytecode
	$(BIN)/python -m bench.run --out bench/results.md

bench-objectives: bytecode
	$(BIN)/python -m bench.objectives --out bench/objectives.md
	$(BIN)/python -m bench.objectives_raw --timeout 120 --out bench/objectives_raw.md

bench-sweep: bytecode
	$(BIN)/python -m bench.sweep --out bench/sweep.md

bench-batch: bytecode
	$(BIN)/python -m bench.batch --out bench/batch.md

# every objective against maxmin and the floor (start-up + Arrow read/write), bench/floor.py
bench-ratios: bytecode
	$(BIN)/python -m bench.ratios --sizes 1e4,1e5,1e6 --seeds 0,1 --cap 300 --out bench/ratios.md
	$(BIN)/python -m bench.threshold_modes --seeds 0,1 --cap 120 --out bench/threshold_modes.md

# ruff and import-linter are pinned in pyproject.toml (the test extra) and configured there
lint: $(STAMP)
	$(BIN)/ruff check optimizer models tests bench
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
