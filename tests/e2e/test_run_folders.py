"""A run never replaces what it did not create, and a finished run is never thrown away.

The refusals run in a temporary copy of the project (the package imported
from the copy, so the copy is "the project"), compared file by file before
and after. Signals are sent to the command when an event says the run has
reached the point under test (a file a cell writes), never after a sleep.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from fairaudit._io import OUTPUT_ROOT_ENV, RUN_MARKER, project_root

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
     "notes/thesis.txt", "README.md/run", "/proc/fairaudit-run", "reports/failed", ".git/x",
     "fairaudit/newpkg", "reports/" + "x" * 5000],
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


@pytest.mark.parametrize("added", [False, True])
def test_a_published_run_of_another_study_or_with_a_users_file_is_refused(project, added):
    from fairaudit._io import private_workdir, replace_dir

    folder = project / "reports" / f"scale-{added}"
    new = private_workdir(folder.parent, folder.name)
    (new / "report.html").write_text("the other study's report")
    replace_dir(new, folder, "audit-at-scale" if not added else "fairness-monitoring")
    if added:
        (folder / "my_notes.txt").write_text("n")
    before = snapshot(project)
    done = fairaudit(project, "run", "fairness-monitoring", "--output-dir", str(folder))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    expected = "files its run did not publish (my_notes.txt)" if added else "run of audit-at-scale"
    assert expected in done.stderr and "another --output-dir" in done.stderr
    assert snapshot(project) == before


def test_papermill_output_dir_is_refused_inside_the_notebook_before_the_work(project):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    before = snapshot(project)
    out = project.parent / "executed.ipynb"
    with mock.patch.dict(os.environ, {"PYTHONPATH": str(project)}):
        with pytest.raises(PapermillExecutionError, match="not empty and no run created it"):
            papermill.execute_notebook(
                str(project / "notebooks" / "01_credit_loan.ipynb"),
                str(out),
                parameters={"output_dir": str(project / "notes")},
                cwd=str(project / "notebooks"),
                progress_bar=False,
            )
    assert snapshot(project) == before
    executed = out.read_text()
    assert executed.count('"ename": "ParameterError"') == 1  # the check cell, right at the top


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Wait until ``path`` exists (the event a cell signals), failing if the command ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)  # polling for the event, not standing in for it


def _tiny_command(root: Path, *args: str) -> subprocess.Popen:
    code = ("import sys; from tiny_studies import REGISTRY; from fairaudit import cli; "
            "sys.exit(cli.main(sys.argv[1:], registry=REGISTRY))")  # fmt: skip
    env = {**os.environ, OUTPUT_ROOT_ENV: str(root), "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.Popen([sys.executable, "-c", code, "run", "tiny", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _previous_run(root: Path) -> Path:
    previous = root / "reports" / "tiny_study"
    previous.mkdir(parents=True)
    (previous / "summary.json").write_text(json.dumps({"headline": {"run": "previous"}}))
    (previous / RUN_MARKER).write_text("")
    return previous


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return (
        Path(f"/proc/{pid}/status").is_file()
        and "zombie" in Path(f"/proc/{pid}/status").read_text()
    )


def test_sigterm_stops_a_running_cell_at_once_and_keeps_the_previous_report(tmp_path):
    """A closed terminal or a CI timeout sends SIGTERM: like Ctrl-C, and the kernel goes at once.

    Issue 23 (4): the signal is sent when the cell says it runs. Issue 25: the
    kernel, its child process and its scratch files go with it, within seconds.
    """
    root = tmp_path / "root"
    previous = _previous_run(root)
    flag = tmp_path / "cell-running"
    proc = _tiny_command(root, "-p", "hold_flag", str(flag))
    _wait_for(flag, proc)
    kernel, child, scratch = flag.read_text().split()
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    stopped = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert stopped < 15, f"took {stopped:.1f} s to stop"
    assert err.strip().splitlines()[-1] == (
        "fairaudit: interrupted; the previous results are untouched."
    )
    assert "Traceback" not in err and "Kernel died" not in err, err
    assert json.loads((previous / "summary.json").read_text())["headline"]["run"] == "previous"
    reports = root / "reports"
    assert not list(reports.glob(".tiny_study.*"))  # no work folder left behind
    (failed,) = (reports / "failed").iterdir()
    assert json.loads((failed / "run.json").read_text())["status"] == "failed"
    assert (failed / "tiny_study.ipynb").is_file()
    assert _gone(int(kernel)) and _gone(int(child))
    assert not Path(scratch).exists()


def test_sigterm_after_the_last_cell_publishes_the_finished_run(tmp_path):
    """Issue 25 #4: SIGTERM while papermill wraps up (the kernel shutting down) lost the run."""
    root = tmp_path / "root"
    previous = _previous_run(root)
    flag = tmp_path / "kernel-shutting-down"
    proc = _tiny_command(root, "-p", "group", "south", "-p", "wrap_up_flag", str(flag))
    _wait_for(flag, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted after the run finished; it was published" in err
    assert json.loads((previous / "summary.json").read_text())["headline"]["Group"] == "south"
    assert not (root / "reports" / "failed").exists()


@pytest.fixture
def finished_run(tmp_path):
    """A run whose notebook has finished (executed notebook and artefacts in its work folder)."""
    import nbformat
    from tiny_studies import TINY

    from fairaudit.cli._execute import Run

    with mock.patch.dict(os.environ, {OUTPUT_ROOT_ENV: str(tmp_path / "root")}):
        run = Run(TINY, {"group": "south"}, "reports/tiny_study")
        nbformat.write(nbformat.v4.new_notebook(), run.work / ".tiny_study.ipynb")
        (run.work / "summary.json").write_text(json.dumps({"headline": {"Group": "south"}}))
        yield run


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("trouble", ["link", "dangling-link", "full-disk"])
def test_a_run_that_cannot_be_published_is_kept_whole_with_its_cause(finished_run, trouble):
    """Issue 25 #4: the finished run was thrown away, with a traceback."""
    from fairaudit.cli import RunFailed

    run_dir, reports = finished_run.run_dir, finished_run.run_dir.parent
    elsewhere = reports.parent / "elsewhere"
    if trouble == "link":
        elsewhere.mkdir()
        (elsewhere / RUN_MARKER).write_text("")
    if trouble != "full-disk":  # the folder was replaced by a link while the notebook ran
        run_dir.symlink_to(elsewhere, target_is_directory=True)
    patch = mock.patch("fairaudit.cli._execute.render_html", _disk_full)
    with patch if trouble == "full-disk" else contextlib.nullcontext():
        with pytest.raises(RunFailed) as info:
            finished_run.publish()
    failure = info.value
    assert failure.error.startswith("publishing failed: ")
    assert "\n" not in failure.error
    assert ("No space" if trouble == "full-disk" else "symbolic link") in failure.error
    assert failure.failed_dir.parent == reports / "failed"
    kept = {p.name for p in failure.failed_dir.iterdir()}
    assert {"tiny_study.ipynb", "summary.json", "error.txt", "run.json"} <= kept
    assert json.loads((failure.failed_dir / "run.json").read_text())["error"] == failure.error
    assert not list(reports.glob(".tiny_study.*"))
    assert run_dir.is_symlink() or not run_dir.exists()  # what was there is left as it was
    assert "Traceback" not in failure.report()


def test_a_runs_file_that_is_not_a_mapping_stops_neither_the_run_nor_the_index(finished_run):
    """Issue 25 #16: ``reports/.runs.json`` of ``[]`` or ``null`` raised after publishing."""
    from fairaudit.cli import write_index

    runs = finished_run.run_dir.parent / ".runs.json"
    for content in ("[]", "null", '{"tiny": 3}', "[" * 5000):
        runs.write_text(content)
        write_index()
    record = finished_run.publish()
    assert record["status"] == "ok" and (finished_run.run_dir / "summary.json").is_file()
    assert json.loads(runs.read_text()) == {"tiny": [str(finished_run.run_dir)]}
