"""A run never replaces what it did not create: the sweep's repros, each in a copy of the project.

Every command here runs in a temporary copy of the project (the package
imported from the copy, so the copy is "the project"), and the copy is
compared file by file before and after.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fairaudit._io import OUTPUT_ROOT_ENV, project_root

IGNORE = shutil.ignore_patterns(".venv", "*.egg-info", "__pycache__", ".pytest_cache", "reports")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("project") / "fairaudit"
    shutil.copytree(project_root(), copy, ignore=IGNORE)
    (copy / "reports").mkdir()
    (copy / "reports" / "README.md").write_text("kept")
    (copy / "notes").mkdir()
    (copy / "notes" / "thesis.txt").write_text("years of work")
    return copy


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def fairaudit(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != OUTPUT_ROOT_ENV}
    env["PYTHONPATH"] = str(project)
    return subprocess.run(
        [sys.executable, "-m", "fairaudit", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "target",
    [".", "", "..", "/", "~", "reports", "notebooks", "fairaudit", "notes", "README.md",
     "notes/thesis.txt", "README.md/run", "/proc/fairaudit-run"],
)  # fmt: skip
def test_output_dir_that_no_run_created_is_refused_before_anything_runs(project, target):
    before = snapshot(project)
    target = str(Path.home()) if target == "~" else target
    done = fairaudit(project, "run", "fairness-monitoring", "-p", "sample_fraction", "0.2",
                     "--output-dir", target)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("fairaudit: error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert snapshot(project) == before
    assert not list(project.glob("**/.*.run-*")) and not (project / "reports" / "failed").exists()


def test_papermill_output_dir_is_refused_inside_the_notebook_before_the_work(project):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    before = snapshot(project)
    out = project.parent / "executed.ipynb"
    env = {"PYTHONPATH": str(project)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with pytest.raises(PapermillExecutionError, match="not empty and no run created it"):
            papermill.execute_notebook(
                str(project / "notebooks" / "01_credit_loan.ipynb"),
                str(out),
                parameters={"output_dir": str(project / "notes")},
                cwd=str(project / "notebooks"),
                progress_bar=False,
            )
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert snapshot(project) == before
    executed = out.read_text()
    assert executed.count('"ename": "ParameterError"') == 1  # the check cell, right at the top


def test_sigterm_stops_a_run_like_ctrl_c_and_keeps_the_previous_report(tmp_path):
    """A closed terminal or a CI timeout sends SIGTERM: same exit and guarantees as Ctrl-C."""
    import json
    import signal
    import time

    root = tmp_path / "root"
    previous = root / "reports" / "credit_loan"
    previous.mkdir(parents=True)
    (previous / "summary.json").write_text(json.dumps({"headline": {"run": "previous"}}))
    (previous / ".fairaudit-run").write_text("")
    env = {**os.environ, OUTPUT_ROOT_ENV: str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fairaudit", "run", "credit-loan", "-p", "sample_fraction", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout.readline().startswith("Running credit-loan")  # the kernel is starting
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; the previous results are untouched" in err
    assert "Traceback" not in err and "KeyboardInterrupt caught in kernel" not in err
    assert json.loads((previous / "summary.json").read_text())["headline"]["run"] == "previous"
    reports = root / "reports"
    assert not list(reports.glob(".credit_loan.*"))  # no work folder left behind
    (failed,) = (reports / "failed").iterdir()
    assert json.loads((failed / "run.json").read_text())["status"] == "failed"
