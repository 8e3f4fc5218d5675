# The two commands: `make run` starts the product, `make test` runs every check.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test venv

$(VENV)/.installed: pyproject.toml hatch_build.py src/kefu/telephony/sip/_relay.c
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2> >(grep -v '^WARNING: Location' >&2)
	$(PY) -m pip install -q -e '.[test]' 2> >(grep -v '^WARNING: Location' >&2)
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/kefu serve --demo

test:
	bash scripts/test.sh
