# Set-up and the two jobs of the README. Each target creates .venv and installs on first use.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test toolchain browser bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools>=77' wheel
	$(BIN)/pip install -q -e '.[test,examples]'
	touch $(STAMP)

## The bundled example: train on real digits, convert, inspect, generate, verify.
demo: $(STAMP)
	$(BIN)/python examples/digits/run_demo.py

## The test suite. Installs the Cortex-M toolchain, QEMU and Chromium (for the HTML report's
## browser test) first when possible (root + apt).
test: $(STAMP) toolchain browser
	$(BIN)/python -m pytest -q

toolchain:
	@scripts/ensure-toolchain.sh

browser:
	@scripts/ensure-browser.sh

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/convert.py
	$(BIN)/python benchmarks/reference.py
	$(BIN)/python benchmarks/firmware.py
	$(BIN)/python benchmarks/compress.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
