# mnpool: two set-up commands, `make demo` and `make test`, on a fresh machine.
# The interpreter is the newest of 3.13, 3.12, 3.11 that runs (`X -V` succeeds);
# pyenv-managed versions are probed by path because pyenv's shims refuse to run
# a version that is not selected. Falls back to `python3`.
PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PY_CANDIDATES := python3.13 $(wildcard $(PYENV_ROOT_DIR)/versions/3.13*/bin/python3.13) \
                 python3.12 $(wildcard $(PYENV_ROOT_DIR)/versions/3.12*/bin/python3.12) \
                 python3.11 $(wildcard $(PYENV_ROOT_DIR)/versions/3.11*/bin/python3.11) \
                 python3
PYTHON_SYS ?= $(shell for p in $(PY_CANDIDATES); do if $$p -V >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= demo_output
PYTEST_ARGS ?= -m "not slow" -n auto --dist worksteal --durations=30

.PHONY: venv demo test test-all bench libraries clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo "Using interpreter: $(PYTHON_SYS) ($$($(PYTHON_SYS) -V 2>&1))"
	$(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mnpool demo --out $(OUT) --overwrite

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

test-all: $(STAMP)
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -m "" -n auto

bench: $(STAMP)
	mkdir -p .benchmarks
	$(PY) -m pytest benchmarks -m "" --benchmark-only --benchmark-columns=min,mean,rounds --benchmark-json=.benchmarks/latest.json
	$(PY) benchmarks/report.py .benchmarks/latest.json

# After a change of the body: rebuild the shipped libraries and the README blocks made from them
# (~4.5 h on 2 cores, resumable; scenarios/rebuild_libraries.py says what it runs).
libraries: $(STAMP)
	$(PY) -m scenarios.rebuild_libraries --out library-build

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info .pytest_cache .benchmarks
