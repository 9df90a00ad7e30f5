# `make demo`: install into .venv and build the figures on built-in data (CPU, no network).
# `make test`: install into .venv and run the test suite.
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?= --numprocesses=auto --maxprocesses=4 --dist loadfile  # test files in parallel (pytest-xdist)

.PHONY: install demo test clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/snakemake --profile profiles/demo

test: install
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf results figures logs benchmarks .snakemake
