# efficientnn: everyday commands.
#
# Every target first makes sure .venv exists and holds the project; nothing
# needs to be activated by hand. `make help` lists the targets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
# Lives inside .venv so that deleting .venv also forgets the install.
STAMP  := $(VENV)/.efficientnn-installed

# Folder JupyterLab opens: the student notebooks. Instructors who want the
# whole repository (source/, course/) run `make lab LAB_DIR=.`.
LAB_DIR ?= release
# Jupyter refuses to start as root (as in many containers) unless told it may.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=
# JupyterLab's settings defaults for the course (course/jupyter/lab-settings/overrides.json):
# no "Would you like to get notified about official Jupyter news?" pop-up, no update check.
LAB_SETTINGS := --LabApp.app_settings_dir=$(CURDIR)/course/jupyter/lab-settings

# nbgrader runs `alembic` by name, so the venv's bin must be on PATH even for
# tools started through `python -m`.
export PATH := $(BIN):$(PATH)
# Use the platform's standard folders for Jupyter config and data (silences
# the jupyter_core deprecation warning; HOME itself is left alone).
export JUPYTER_PLATFORM_DIRS := 1

.PHONY: help setup lab test grade release bench mutation clean distclean

help:
	@echo "make lab        open the course notebooks in JupyterLab (LAB_DIR=$(LAB_DIR))"
	@echo "make test       run every test in tests/ (PYTEST_ARGS='-m \"not browser\"' to skip the browser tests)"
	@echo "make release    regenerate release/ from source/ with nbgrader"
	@echo "make grade      autograde the example class"
	@echo "make bench      run the benchmarks and print their tables"
	@echo "make mutation  mutation score of the graded modules against their own tests (slow; MUTATION_ARGS='shapes cost')"
	@echo "make clean      remove caches, build, test and benchmark output (keeps .venv and all of course/)"
	@echo "make distclean  clean, and remove .venv too"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml (the dependency list) changes.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -e '.[browser]'
	touch $@

setup: $(STAMP)

lab: setup
	jupyter lab $(LAB_FLAGS) $(LAB_SETTINGS) $(LAB_DIR)

test: setup
	python -m pytest tests --durations=30 $(PYTEST_ARGS)

grade: setup
	python -m autograder grade --example

release: setup
	python -m autograder release

bench: setup
	python -m benchmarks --json benchmarks/results/latest.json

# Mutation testing (tests/mutation.py): each graded module's mutants against its own tests, a
# score table and the survivors (explained in tests/MUTANTS.md). Minutes per module, so it is not
# part of `make test`. mutmut is a tool for this target only, installed on first use.
MUTMUT ?= mutmut==3.8.1
MUTATION_ARGS ?=
mutation: setup
	@python -c 'import mutmut' 2>/dev/null || python -m pip install '$(MUTMUT)'
	nice -n 10 python tests/mutation.py $(MUTATION_ARGS)

clean:
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache build dist *.egg-info artifacts benchmarks/results

distclean: clean
	rm -rf $(VENV)
