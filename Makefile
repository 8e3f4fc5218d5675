# The two commands: `make run` starts the product, `make test` runs every check.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test venv

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/kefu serve

test:
	bash scripts/test.sh
