# Quick start: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv on first use with the CPU build of torch that lies on disk.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test test-slow bench clean

$(BIN)/mi-probe: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test,distributed,keops,parquet]'
	touch $(BIN)/mi-probe

venv: $(BIN)/mi-probe

demo: venv
	$(BIN)/mi-probe demo --out mi_probe_demo

test: venv
	$(BIN)/python -m pytest -q

test-slow: venv
	$(BIN)/python -m pytest -q --run-slow

clean:
	rm -rf $(VENV) mi_probe_demo .pytest_cache
