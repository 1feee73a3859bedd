"""Test-session set-up for everything pytest collects: the tests and the notebooks.

It lives at the project root so that it also applies when a single notebook is
checked (``pytest notebooks/01_credit_loan.ipynb``). It runs when pytest
imports it, before collection, so before nbval starts the first notebook
kernel (kernels inherit this process's environment):

* ``FAIRAUDIT_OUTPUT_ROOT`` points at a fresh folder for the whole session, so
  notebooks and ``fairaudit run`` write there and a test run never overwrites
  the reports a user made; ``FAIRAUDIT_CACHE_DIR`` points at a folder of its
  own (the processed-data cache), and hypothesis keeps no example database, so
  a test run writes nothing into the checkout;
* kernels get the environment the committed outputs were made with
  (:data:`fairaudit.cli.KERNEL_ENV`: hash seed, the virtual environment's
  kernel first, matplotlib's inline backend so figures land in the outputs),
  while this process itself draws with Agg;
* the nbval sanitizer file named in ``pyproject.toml`` is found from any
  working directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import matplotlib
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from fairaudit._io import OUTPUT_ROOT_ENV
from fairaudit.cli import KERNEL_ENV
from fairaudit.datasets import CACHE_DIR_ENV

# pyplot reads the backend once, at import: this process keeps Agg ...
matplotlib.use("Agg")
_SESSION_OUTPUT_ROOT = Path(tempfile.mkdtemp(prefix="fairaudit-test-output-"))
os.environ[OUTPUT_ROOT_ENV] = str(_SESSION_OUTPUT_ROOT)
os.environ.setdefault(CACHE_DIR_ENV, str(_SESSION_OUTPUT_ROOT / "cache"))
set_hypothesis_home_dir(str(_SESSION_OUTPUT_ROOT / "hypothesis"))
# The default profile: a fixed, small number of examples, the same ones every run, so `make
# test` is quick and repeatable; `make hypothesis` (FAIRAUDIT_HYPOTHESIS=thorough) searches
# far more widely, with fresh examples each run.
settings.register_profile(
    "fairaudit", database=None, max_examples=20, derandomize=True, deadline=None
)
settings.register_profile("thorough", database=None, max_examples=1000, deadline=None)
settings.load_profile(
    "thorough" if os.environ.get("FAIRAUDIT_HYPOTHESIS") == "thorough" else "fairaudit"
)
# ... while the kernels nbval and papermill start inherit this.
os.environ.update(KERNEL_ENV)


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def pytest_configure(config):
    # Tests that need the raw data skip without it on a developer's machine; CI must run them.
    home = os.environ.get("FAIRAUDIT_DATA_HOME")
    if os.environ.get("CI") and not (home and Path(home, "adult", "adult.data").is_file()):
        raise pytest.UsageError(
            "CI runs need FAIRAUDIT_DATA_HOME pointing at the raw-data mirror (see README, "
            "'Data'); without it the data tests would be skipped, not run."
        )
    # The Spark tests skip without Java or PySpark on a developer's machine; CI must run them.
    if os.environ.get("CI") and not (shutil.which("java") and _importable("pyspark")):
        raise pytest.UsageError(
            "CI runs need Java 17 and PySpark (make test installs requirements-engines.lock); "
            "without them the Spark tests would be skipped, not run."
        )
    # nbval opens the sanitizer file relative to the current directory.
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not Path(sanitize).is_absolute() and not Path(sanitize).exists():
        candidate = config.rootpath / sanitize
        if candidate.exists():
            config.option.nbval_sanitize_with = str(candidate)


def pytest_unconfigure(config):
    shutil.rmtree(_SESSION_OUTPUT_ROOT, ignore_errors=True)


@pytest.fixture(scope="session")
def session_output_root() -> Path:
    """The folder ``FAIRAUDIT_OUTPUT_ROOT`` names for this test session."""
    return _SESSION_OUTPUT_ROOT
