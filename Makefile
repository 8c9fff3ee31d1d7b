# The two commands a newcomer runs: `make demo` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NATIVE_SRC := $(wildcard src/devicesrp/modexp/native/*.c src/devicesrp/modexp/native/*.h)
EXTRAS := dev,gmp,server,postgres,client,bench

.PHONY: setup demo test lint soak bench clean

$(STAMP): pyproject.toml setup.py constraints.txt $(NATIVE_SRC)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/devicesrp doctor
	$(BIN)/devicesrp demo

lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy

test: setup lint
	bash .ci/services.sh
	$(BIN)/python -m pytest -q

soak: setup
	bash .ci/services.sh
	DEVICESRP_SOAK=1 $(BIN)/python -m pytest -q -m "soak or not soak"

bench: setup
	$(BIN)/python -m pytest benchmarks -q --benchmark-only --benchmark-json=bench-results/benchmarks.json
	$(BIN)/devicesrp bench report

clean:
	rm -rf $(VENV) build src/*.egg-info
