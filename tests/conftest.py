"""Fixtures of the command's tests (the session set-up is in the root ``conftest.py``).

``tests/fixtures/`` holds small notebooks the command's tests run themselves;
they are not committed with outputs, so nbval must not collect them.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

from fairaudit._io import OUTPUT_ROOT_ENV

collect_ignore = ["fixtures", "mutants"]


@pytest.fixture
def output_root(tmp_path) -> Path:
    """A private ``FAIRAUDIT_OUTPUT_ROOT`` for one test (its ``reports/`` starts empty)."""
    root = tmp_path / "root"
    root.mkdir()
    with mock.patch.dict(os.environ, {OUTPUT_ROOT_ENV: str(root)}):
        yield root


@dataclass
class RenderedReports:
    """The outcome of one ``fairaudit run --all`` made for the session."""

    reports: Path
    registry: dict
    run_dirs: dict
    featured: object
    featured_values: list
    code: int
    out: str
    err: str


# Small settings for the session's runs of the real case studies, each value for the studies
# that declare it (a 20% sample, 100 bootstrap replicates, one ExponentiatedGradient bound, a
# short GridSearch, four days of traffic, a small log); the credit study is audited by marital
# status.
SMALL_RUN = {
    "sample_fraction": "0.2",
    "n_boot": "100",
    "epsilons": "0.02",
    "eg_bounds": "0.02",
    "gs_grid_size": "3",
    "days": "4",
    "drift_day": "2",
    "rows": "100000",
    "scaling": "false",
}
CREDIT_RUN = {"sensitive_features": "MARRIAGE"}


@pytest.fixture(scope="session")
def rendered_reports(session_output_root) -> RenderedReports:
    """Run every available case study once, small, with ``fairaudit run``.

    Shared by the command's tests and the browser tests so that each real
    notebook runs only once here. Before the case-study notebooks exist, the
    two fixture notebooks stand in for them.
    """
    from tiny_studies import REGISTRY

    from fairaudit import cli
    from fairaudit.cli import STUDIES

    registry = {name: s for name, s in STUDIES.items() if s.available}
    runs = {}
    for name, study in registry.items():
        values = SMALL_RUN | (CREDIT_RUN if name == "credit-loan" else {})
        runs[name] = [a for k, v in values.items() if k in study.declared for a in ("-p", k, v)]
    featured = registry.get("credit-loan")
    featured_values = ["MARRIAGE"] if featured else ["south"]
    if not registry:
        registry, runs = REGISTRY, {"tiny": ["-p", "group", "south"], "tiny-other": []}
        featured = registry["tiny"]
    root = session_output_root / "all-studies"
    out, err, code = io.StringIO(), io.StringIO(), 0
    with mock.patch.dict(os.environ, {OUTPUT_ROOT_ENV: str(root)}):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            for name, args in runs.items():
                code = max(code, cli.main(["run", name, *args], registry=registry))
        run_dirs = {name: s.run_dir for name, s in registry.items()}
    return RenderedReports(
        reports=root / "reports",
        registry=registry,
        run_dirs=run_dirs,
        featured=featured,
        featured_values=featured_values,
        code=code,
        out=out.getvalue(),
        err=err.getvalue(),
    )


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (two cores, UTC) for every Spark test of the run."""
    import shutil
    import warnings

    if shutil.which("java") is None:
        pytest.skip("no Java on this machine: Spark needs Java 17")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark's note on pandas 3
        pyspark_sql = pytest.importorskip("pyspark.sql", reason="pyspark is a test extra")
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("fairaudit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
