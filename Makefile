# The few commands a newcomer needs. `make run` and `make test` set everything up
# on first use and do nothing more on later calls unless the pins or the package change.

# A supported Python on PATH (see NEED_PYTHON), 3.11 first (the committed outputs' own), else python3.
PYTHON ?= $(shell command -v python3.11 || command -v python3.13 || command -v python3.12 || command -v python3.14 || command -v python3.15 || command -v python3)
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
# Refuse an unsupported Python before installing anything. requirements.lock installs on 3.11.5
# to 3.15; set-up, tests and every notebook were run on 3.11 and 3.13 (make test-pythons), and
# the lock resolves to wheels on 3.12, 3.14 and 3.15 (not run end to end).
NEED_PYTHON = import sys; v = sys.version_info; sys.exit(0 if (3, 11, 5) <= v[:3] and v[:2] <= (3, 15) else 1)
NEEDS = fairaudit needs Python 3.11.5 to 3.15 (run end to end on 3.11 and 3.13; its pins resolve to wheels on 3.12, 3.14 and 3.15)
STAMP  := $(VENV)/.fairaudit-installed
# `make setup WHEELHOUSE=/path`: install from a folder of wheels (make wheelhouse), no network.
WHEELHOUSE ?=
# `make wheelhouse`: which Python versions and platforms (here, linux, linux-arm, windows, macos,
# macos-intel) the folder serves.
WHEELHOUSE_PYTHONS ?= 3.11 3.12 3.13 3.14
WHEELHOUSE_PLATFORMS ?= here
ENGINES := $(VENV)/.fairaudit-engines

# Reproducible notebook outputs: fixed hash seed, and the venv's Jupyter kernel
# is preferred over any user-wide kernel of the same name.
export PYTHONHASHSEED := 0
export JUPYTER_PREFER_ENV_PATH := 1

.PHONY: setup run test test-cpu mutants hypothesis bench lint lock clean clean-data screenshot notebooks \
  lab reset workshop wheelhouse test-pythons

setup: $(STAMP)

# The set-up itself is `python -m fairaudit setup` (also the path without make): a virtual
# environment, the lock installed with uv (pip where uv fails), the project, its kernel.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c '$(NEED_PYTHON)' 2>/dev/null || { echo "error: $(NEEDS), and '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing). Nothing was installed. Install one and run: make setup PYTHON=/path/to/python3.13 (or use conda: conda env create -f environment.yml && conda activate fairaudit && make setup)" >&2; exit 2; }
	$(PYTHON) -m fairaudit --venv "$(VENV)" setup $(if $(filter wheelhouse,$(MAKECMDGOALS)),,$(if $(WHEELHOUSE),--wheelhouse "$(WHEELHOUSE)"))

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
# committed notebooks, without solutions, and never overwritten), with the project's kernel
# as the default and no news pop-up (python -m fairaudit lab does the same).
lab: setup
	@$(BIN)/python -m fairaudit --venv "$(VENV)" lab --workspace "$(WORKSPACE)" --port "$(LAB_PORT)" -- $(LAB_ARGS)

# A fresh working copy of one notebook: make reset NOTEBOOK=01 (your old copy goes to
# $(WORKSPACE)/backups/). Refused while JupyterLab has the notebook open.
reset: export FAIRAUDIT_NOTEBOOK := $(value NOTEBOOK)
reset: setup
	@test -n "$$FAIRAUDIT_NOTEBOOK" || { echo "error: name the notebook, e.g. make reset NOTEBOOK=01" >&2; exit 2; }
	@$(BIN)/python -m fairaudit --venv "$(VENV)" reset --workspace "$(WORKSPACE)" -- "$$FAIRAUDIT_NOTEBOOK"

# Teachers: workshop/student (no solutions, no outputs), workshop/teacher (everything) and
# workshop/html (the student copy rendered, for an attendee without a laptop). Copies you
# edited are kept in workshop/backups/ first.
workshop: setup
	@$(BIN)/python -m fairaudit --venv "$(VENV)" workshop

# Teachers, before a room without Wi-Fi: every pinned wheel in one folder (see WHEELHOUSE_*).
wheelhouse: setup
	@test -n "$(WHEELHOUSE)" || { echo "error: name the folder, e.g. make wheelhouse WHEELHOUSE=/media/stick/wheels" >&2; exit 2; }
	@$(BIN)/python -m fairaudit --venv "$(VENV)" wheelhouse "$(WHEELHOUSE)" --python $(WHEELHOUSE_PYTHONS) --platform $(WHEELHOUSE_PLATFORMS)

# Maintainers, on demand (not in make test): fresh clones set up and run the unit tests and
# every notebook at sample_fraction 0.2 on each Python in PYTHONS, and the lock resolves to
# wheels on 3.12, 3.14 and 3.15. PYTHONS defaults to python3.11 and python3.13 on PATH.
test-pythons:
	$(PYTHON) tests/pythons.py $(PYTHONS)

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: setup
	$(BIN)/ruff check fairaudit tests benchmarks notebooks
	$(BIN)/ruff format --check fairaudit tests benchmarks

# Re-pin after changing the ranges in pyproject.toml: one lock for every platform and supported
# Python (uv's universal resolution). Every current pin is kept (the lock is its own constraint);
# to move one, delete its line(s) in requirements.lock first.
lock: setup
	@sed -n '/^#/p' requirements.lock > .lock-header && sed '/^#/d' requirements.lock > .lock-pins
	UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip compile pyproject.toml --extra dev --universal \
	  --python-version 3.11.5 --no-header --no-annotate --quiet -c .lock-pins -o .lock-new
	@cat .lock-header .lock-new > requirements.lock; rm -f .lock-header .lock-pins .lock-new

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
