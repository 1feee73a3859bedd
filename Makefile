# The few commands a newcomer needs. `make run` and `make test` set everything up
# on first use and do nothing more on later calls unless the pins or the package change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
# An active conda environment (other than base) is used as it is, e.g. after
#   conda env create -f environment.yml && conda activate fairaudit
# otherwise the project gets its own virtual environment in .venv.
ifneq ($(and $(CONDA_PREFIX),$(filter-out base,$(CONDA_DEFAULT_ENV))),)
VENV   ?= $(CONDA_PREFIX)
else
VENV   ?= .venv
endif
BIN    := $(VENV)/bin
WORKSPACE ?= workspace
LAB_PORT  ?= 8888
LAB_ARGS  ?=
# Refuse a Python other than 3.11 before installing anything: the pins are for 3.11.
NEED_311 = import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
STAMP  := $(VENV)/.fairaudit-installed
ENGINES := $(VENV)/.fairaudit-engines

# Reproducible notebook outputs: fixed hash seed, and the venv's Jupyter kernel
# is preferred over any user-wide kernel of the same name.
export PYTHONHASHSEED := 0
export JUPYTER_PREFER_ENV_PATH := 1

.PHONY: setup run test test-cpu mutants hypothesis bench lint lock clean clean-data screenshot notebooks lab reset workshop

setup: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c '$(NEED_311)' 2>/dev/null || { echo "error: fairaudit needs Python 3.11, and '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing). Nothing was installed. Install Python 3.11 and run: make setup PYTHON=/path/to/python3.11 (or use conda: conda env create -f environment.yml && conda activate fairaudit && make setup)" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	@$(BIN)/python -c '$(NEED_311)' || { echo "error: $(VENV) holds $$($(BIN)/python --version 2>&1), but fairaudit needs Python 3.11. Nothing was installed. Remove it (rm -rf $(VENV)) and run: make setup PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	$(BIN)/python -m ipykernel install --sys-prefix --name fairaudit --display-name "fairaudit (Python 3.11)" > /dev/null
	@touch $@
	@echo "Environment ready in $(VENV)."

# Polars and PySpark for the tests that audit tables in place; not part of `make setup`.
$(ENGINES): requirements-engines.lock | $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-engines.lock
	@touch $@

run: setup
	$(BIN)/fairaudit run --all

test: setup $(ENGINES)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The committed outputs must not depend on the CPU: strict nbval on the notebooks once more, with
# NumPy's SIMD loops limited to x86-64-v2 (no AVX2) and OpenBLAS's oldest x86-64 kernels, as on
# a CPU other than the one that made them (both switches are ignored on other architectures).
CPU_CHECK_ENV ?= NPY_DISABLE_CPU_FEATURES=X86_V3 OPENBLAS_CORETYPE=Prescott
test-cpu: setup
	$(CPU_CHECK_ENV) $(BIN)/python -m pytest notebooks -n 2 --dist loadfile -p no:cacheprovider -q

# Hand-written mutants of the core semantics (tests/mutants/*.toml): each must be killed by the
# unit tests it names. Not part of `make test`; CI runs it after.
mutants: setup
	$(BIN)/python tests/mutants/run.py

# The property tests (Hypothesis) with 1,000 fresh examples each; make test runs 20, the same
# ones every time.
hypothesis: setup $(ENGINES)
	FAIRAUDIT_HYPOTHESIS=thorough $(BIN)/python -m pytest -n 2 --dist loadfile -m hypothesis tests/unit

# JupyterLab on your working copies in $(WORKSPACE)/ (git-ignored; made on first use from the
# committed notebooks, without solutions, and never overwritten), with the project's kernel.
lab: setup
	@$(BIN)/python -m fairaudit.exercises copies $(WORKSPACE)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(WORKSPACE) --ServerApp.port=$(LAB_PORT) \
	  --MappingKernelManager.default_kernel_name=fairaudit \
	  $(if $(filter 0,$(shell id -u)),--allow-root --no-browser) $(LAB_ARGS)

# A fresh working copy of one notebook: make reset NOTEBOOK=01 (your old copy goes to
# $(WORKSPACE)/.backups/).
reset: setup
	@test -n "$(NOTEBOOK)" || { echo "error: name the notebook, e.g. make reset NOTEBOOK=01" >&2; exit 2; }
	@$(BIN)/python -m fairaudit.exercises reset $(NOTEBOOK) $(WORKSPACE)

# Teachers: workshop/student (no solutions, no outputs) and workshop/teacher (everything).
workshop: setup
	@$(BIN)/python -m fairaudit.exercises build workshop

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: setup
	$(BIN)/ruff check fairaudit tests benchmarks notebooks
	$(BIN)/ruff format --check fairaudit tests benchmarks

# Re-pin after changing the ranges in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@{ echo "# Exact versions of every package (direct and transitive) for reproducible notebook outputs."; \
	   echo "# Regenerate with: make lock   (then re-run the notebooks and commit their outputs)"; \
	   $(BIN)/python -m pip freeze --exclude-editable | grep -viE '^(pip|setuptools|wheel)=='; } > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

clean-data:
	rm -rf data/processed

# Maintainers: re-execute the committed notebooks in place with their defaults
# (after changing code or pins), exactly as nbval re-runs them; then review the diff.
notebooks: setup
	@for nb in notebooks/[0-9]*.ipynb; do echo "== $$nb"; \
	  $(BIN)/python -c "import sys; from fairaudit.cli import refresh_notebook; refresh_notebook(sys.argv[1])" "$$nb" || exit 1; done

# The README's picture of reports/index.html (after `make run`), with Debian's chromium.
screenshot:
	chromium --headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run \
	  --disable-background-networking --disable-component-update --disable-sync \
	  --hide-scrollbars --window-size=1280,2200 \
	  --screenshot=$(CURDIR)/reports/screenshot-index.png file://$(CURDIR)/reports/index.html
