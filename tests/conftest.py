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

import pytest

from fairaudit._io import OUTPUT_ROOT_ENV

collect_ignore = ["fixtures"]

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def output_root(tmp_path, monkeypatch) -> Path:
    """A private ``FAIRAUDIT_OUTPUT_ROOT`` for one test (its ``reports/`` starts empty)."""
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv(OUTPUT_ROOT_ENV, str(root))
    return root


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


# Small settings for the session's run of the real case studies: each value
# goes only to the studies that declare it (see `fairaudit run --help`).
SMALL_RUN = {
    "sample_fraction": "0.2",
    "sensitive_feature": "MARRIAGE",
    "rows": "100000",
    "scaling": "false",
}


@pytest.fixture(scope="session")
def rendered_reports(session_output_root) -> RenderedReports:
    """Run every available case study once, small, with ``fairaudit run --all``.

    Shared by the command's tests and the browser tests so that each real
    notebook runs only once here. Before the case-study notebooks exist, the
    two fixture notebooks stand in for them.
    """
    from fairaudit import cli
    from fairaudit import cli as runner
    from fairaudit.cli._studies import STUDIES, Study

    registry = {name: s for name, s in STUDIES.items() if s.available}
    if registry:
        declared = set()
        for study in registry.values():
            declared |= set(runner.notebook_parameters(study.notebook_path))
        argv = ["run", "--all"]
        for name, value in SMALL_RUN.items():
            if name in declared:
                argv += ["-p", name, value]
        featured = registry.get("credit-loan", next(iter(registry.values())))
        featured_values = ["MARRIAGE"] if featured.name == "credit-loan" else []
    else:
        registry = {
            "tiny": Study("tiny", str(FIXTURES / "tiny_study.ipynb"), "Tiny.", "summary.json"),
            "tiny-other": Study(
                "tiny-other", str(FIXTURES / "tiny_other.ipynb"), "Other.", "report.json"
            ),
        }
        argv = ["run", "--all", "-p", "group", "south"]
        featured, featured_values = registry["tiny"], ["south"]

    root = session_output_root / "all-studies"
    saved = os.environ[OUTPUT_ROOT_ENV]
    os.environ[OUTPUT_ROOT_ENV] = str(root)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv, registry=registry)
        run_dirs = {
            name: runner.default_run_dir(runner.notebook_parameters(s.notebook_path), s)
            for name, s in registry.items()
        }
    finally:
        os.environ[OUTPUT_ROOT_ENV] = saved
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
