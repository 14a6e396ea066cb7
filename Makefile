# Pagero Connect — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: install install-test run test lint bench screenshots clean

$(BIN)/python:
	sh packaging/install-debian-packages.sh packaging/debian-packages.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml packaging/debian-packages.txt | $(BIN)/python
	sh packaging/install-debian-packages.sh packaging/debian-packages.txt
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed packaging/debian-test-packages.txt
	sh packaging/install-debian-packages.sh packaging/debian-test-packages.txt
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Start the printer and the status page (Ctrl-C stops it).
run: install
	$(BIN)/pagero-connect serve --demo $(ARGS)

## Install everything and run the whole test suite; exits non-zero on any failure.
test: install-test
	$(BIN)/ruff check ipp printer_backend connect_core pagero_online_emulator tests bench
	$(BIN)/mypy ipp printer_backend connect_core pagero_online_emulator
	$(BIN)/python -m pytest -q $(ARGS)

lint: install-test
	$(BIN)/ruff check ipp printer_backend connect_core pagero_online_emulator tests bench
	$(BIN)/mypy ipp printer_backend connect_core pagero_online_emulator

bench: install-test
	$(BIN)/python -m bench $(ARGS)

## Refresh docs/screenshots/ from the browser tests (make test saves them under .test-cache/).
screenshots: install-test
	PAGERO_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/stories/web $(ARGS)

clean:
	rm -rf $(VENV) .test-cache .pytest_cache .mypy_cache
