"""Run folders: a run replaces only a folder a run created, and survives being killed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest

from fairaudit._io import (
    OUTPUT_ROOT_ENV,
    RUN_MARKER,
    WORK_MARKER,
    UnsafeTargetError,
    check_run_target,
    clean_leftovers,
    clean_scratch,
    private_workdir,
    project_root,
    replace_dir,
    scratch_dir,
)
from fairaudit.reporting import RunArtefacts


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A private output root; the current directory is a folder of its own."""
    base = tmp_path / "root"
    base.mkdir()
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    with mock.patch.dict(os.environ, {OUTPUT_ROOT_ENV: str(base)}):
        yield base


def _published(folder: Path, text="old") -> Path:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(text)
    (folder / RUN_MARKER).write_text("")
    return folder


@pytest.mark.parametrize(
    "target",
    [
        lambda root: "",
        lambda root: "/",
        lambda root: str(Path.home()),
        lambda root: str(project_root()),
        lambda root: str(project_root() / "notebooks"),
        lambda root: str(project_root() / "fairaudit"),
        lambda root: str(Path.cwd()),
        lambda root: str(Path.cwd().parent),
        lambda root: "reports",
        lambda root: "notebooks",
        lambda root: ".",
    ],
    ids=["empty", "fs-root", "home", "project", "notebooks", "package", "cwd", "cwd-parent",
         "reports", "rel-notebooks", "dot"],
)  # fmt: skip
def test_folders_holding_the_project_or_its_parts_are_refused(root, target):
    with pytest.raises(UnsafeTargetError) as info:
        check_run_target(target(root))
    assert "\n" not in str(info.value) and "such as" in str(info.value)


def test_a_users_folder_and_a_file_are_refused_untouched(root):
    notes = root / "my_notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("years of work")
    readme = root / "README.md"
    readme.write_text("# hello")
    with pytest.raises(UnsafeTargetError, match="not empty and no run created it"):
        check_run_target(notes)
    with pytest.raises(UnsafeTargetError, match="it is a file"):
        check_run_target(readme)
    with pytest.raises(UnsafeTargetError):
        RunArtefacts(notes)
    assert (notes / "thesis.txt").read_text() == "years of work"
    assert readme.read_text() == "# hello"
    assert sorted(p.name for p in root.iterdir()) == ["README.md", "my_notes"]


def test_new_empty_and_run_folders_are_accepted(root):
    assert check_run_target("reports/new") == root / "reports" / "new"
    (root / "empty").mkdir()
    assert check_run_target(root / "empty") == root / "empty"
    run = _published(root / "reports" / "credit_loan")
    assert check_run_target(run) == run


def test_a_place_under_a_file_is_one_clear_line(root):
    (root / "afile").write_text("x")
    with pytest.raises(UnsafeTargetError, match=r"^Cannot create .*afile is a file, not a folder"):
        check_run_target(root / "afile" / "run")
    assert (root / "afile").read_text() == "x"


def test_impossible_place_is_one_clear_line(root):
    with pytest.raises(UnsafeTargetError, match=r"^Cannot (create|write|use)") as info:
        check_run_target("/proc/fairaudit-run")
    assert "\n" not in str(info.value)


def test_published_folder_is_marked_and_replaces_only_a_run(root):
    new = root / "new"
    new.mkdir()
    (new / "summary.json").write_text("new")
    target = replace_dir(new, root / "reports" / "study")
    assert (target / RUN_MARKER).is_file()
    user = root / "mine"
    user.mkdir()
    (user / "data.csv").write_text("1,2")
    other = root / "other"
    other.mkdir()
    with pytest.raises(UnsafeTargetError):
        replace_dir(other, user)
    assert (user / "data.csv").read_text() == "1,2" and other.is_dir()


def test_a_swap_killed_between_its_renames_is_finished_not_lost(root):
    reports = root / "reports"
    aside = _published(reports / ".study.previous", "previous run")
    assert not (reports / "study").exists()  # killed after the first rename
    art = RunArtefacts(reports / "study")  # the next run starts
    assert (reports / "study" / "summary.json").read_text() == "previous run"
    assert not aside.exists()
    art.write_json("summary.json", {"run": "next"})
    art.commit()
    assert (reports / "study" / "summary.json").read_text().strip() == '{\n  "run": "next"\n}'


def test_work_folders_of_killed_runs_are_removed_and_live_ones_kept(root):
    reports = root / "reports"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)  # a process that has exited
    killed = private_workdir(reports, "study").rename(reports / f".study.run-{pid}-abc123")
    (killed / "half.ipynb").write_text("{}")
    stale_staging = reports / f".study.staging-{pid}-def456"  # as earlier versions named it
    stale_staging.mkdir()
    (stale_staging / WORK_MARKER).write_text("")
    live = private_workdir(reports, "study")  # this process: still running
    unrelated = reports / ".study.notes"
    unrelated.mkdir()
    # a user's folder that only looks like a killed run's: no work marker inside, so kept
    users = reports / f".study.run-{pid}-mine"
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    removed = clean_leftovers(reports, "study")
    assert sorted(removed) == sorted([killed, stale_staging])
    assert live.is_dir() and unrelated.is_dir() and (users / "notes.txt").read_text() == "mine"


def test_an_abandoned_attempt_of_the_same_kernel_is_discarded(root):
    first = RunArtefacts(root / "study")
    first.write_json("summary.json", {"run": 1})
    second = RunArtefacts(root / "study")  # the notebook re-run in JupyterLab
    assert not first.staging_dir.exists() and second.staging_dir.is_dir()
    second.commit()
    assert sorted(p.name for p in root.iterdir()) == ["study"]


def test_two_runs_never_share_a_staging_folder(root):
    a = RunArtefacts(root / "study")
    b_dir = private_workdir(root, "study")
    assert a.staging_dir != b_dir and a.staging_dir.is_dir() and b_dir.is_dir()


# --- issue 25 #1: nested run folders -------------------------------------------------------


def test_a_run_folder_inside_another_runs_folder_is_refused(root):
    outer = _published(root / "reports" / "credit_loan")
    with pytest.raises(UnsafeTargetError, match="inside the run folder") as info:
        check_run_target("reports/credit_loan/mine")
    assert str(outer) in str(info.value)
    assert not (outer / "mine").exists()


def test_an_outer_run_that_would_swallow_a_run_folder_is_refused(root):
    outer = root / "reports" / "credit_loan"
    _published(outer / "mine", "a run made with --output-dir reports/credit_loan/mine")
    (outer / RUN_MARKER).write_text("")
    with pytest.raises(UnsafeTargetError, match="holds the run folder"):
        check_run_target("reports/credit_loan")
    new = root / "new"
    new.mkdir()
    with pytest.raises(UnsafeTargetError):
        replace_dir(new, outer)
    assert (outer / "mine" / "summary.json").is_file()


@pytest.mark.parametrize(
    "target",
    ["reports/failed", "reports/failed/x", ".git/x", "fairaudit/newpkg", "notebooks/runs/x",
     "data/processed/x", ".venv/x"],
)  # fmt: skip
def test_run_folders_inside_the_projects_own_folders_are_refused(root, target):
    for base in (root, project_root()):  # relative to the output root, and the real project
        with pytest.raises(UnsafeTargetError, match="project's own folders"):
            check_run_target(base / target)
    assert not (root / target).exists()


@pytest.mark.parametrize("kind", ["link", "dangling"])
def test_a_symbolic_link_as_run_folder_is_refused(root, kind):
    elsewhere = _published(root / "elsewhere") if kind == "link" else root / "gone"
    link = root / "reports" / "study"
    link.parent.mkdir()
    link.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeTargetError, match="symbolic link"):
        check_run_target(link)


def test_an_over_long_name_is_one_short_line(root):
    with pytest.raises(UnsafeTargetError) as info:
        check_run_target("reports/" + "x" * 5000)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_published_folders_follow_the_umask(root):
    old = os.umask(0o022)
    try:
        new = private_workdir(root, "study")  # created 0700 by mkdtemp
        target = replace_dir(new, root / "reports" / "study")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o755


# --- issue 25 #15: scratch files of killed runs ----------------------------------------------


def test_scratch_folders_of_killed_processes_are_removed_by_the_next(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    killed = tmp_path / f"fairaudit-scratch-{int(dead.stdout)}-abc"
    killed.mkdir()
    (killed / "decisions-20000000.parquet").write_bytes(b"x" * 1000)
    other = tmp_path / "fairaudit-test-output-abc"  # not a scratch folder
    other.mkdir()
    live = scratch_dir()
    assert not killed.exists() and other.is_dir() and Path(live.name).is_dir()
    assert clean_scratch() == []  # this process is alive
    live.cleanup()


def _run_of(study: str | None, folder: Path, *names: str) -> Path:
    """A folder published by ``replace_dir`` for ``study`` with files ``names``."""
    new = private_workdir(folder.parent, folder.name)
    for name in names:
        (new / name).write_text(name)
    return replace_dir(new, folder, study)


def test_a_run_folder_of_another_study_is_refused_and_kept(root):
    other = _run_of("audit-at-scale", root / "X", "report.html")
    with pytest.raises(UnsafeTargetError, match="holds a run of audit-at-scale, not of fairness"):
        check_run_target(other, "fairness-monitoring")
    new = private_workdir(root, "X")
    with pytest.raises(UnsafeTargetError, match="choose another --output-dir|Choose another"):
        replace_dir(new, other, "fairness-monitoring")
    assert (other / "report.html").read_text() == "report.html"
    assert _run_of("audit-at-scale", other, "report.html") == other  # the same study may
    # a folder of an earlier version (a plain-text marker): its run.json names the study
    (other / RUN_MARKER).write_text("Published by a fairaudit run.\n")
    (other / "run.json").write_text('{"study": "audit-at-scale"}')
    with pytest.raises(UnsafeTargetError, match="a run of audit-at-scale"):
        check_run_target(other, "fairness-monitoring")


def test_files_a_user_added_to_a_run_folder_are_never_deleted_by_the_next_run(root):
    od1 = _run_of("credit-loan", root / "od1", "summary.json", "page.html")
    assert sorted(json.loads((od1 / RUN_MARKER).read_text())["files"]) == [
        "page.html", "summary.json"
    ]  # fmt: skip
    (od1 / "my_notes.txt").write_text("n")
    (od1 / "sub").mkdir()
    for n in range(4):
        (od1 / "sub" / f"f{n}.txt").write_text("mine")
    with pytest.raises(UnsafeTargetError) as refused:
        check_run_target(od1, "credit-loan")
    said = str(refused.value)
    assert "my_notes.txt, sub/f0.txt, sub/f1.txt and 2 more" in said and "\n" not in said
    assert "Move them out, or choose another --output-dir" in said
    with pytest.raises(UnsafeTargetError):
        _run_of("credit-loan", od1, "summary.json")
    assert (od1 / "my_notes.txt").read_text() == "n" and (od1 / "page.html").is_file()
    (od1 / "my_notes.txt").unlink()
    shutil.rmtree(od1 / "sub")
    _run_of("credit-loan", od1, "summary.json")  # only its own files: replaced
    assert sorted(p.name for p in od1.iterdir()) == [RUN_MARKER, "summary.json"]


def test_a_users_previous_named_folder_is_never_taken_for_a_half_done_swap(root):
    runs = root / "runs2"
    user = runs / ".lo.previous"
    user.mkdir(parents=True)
    (user / "mine.txt").write_text("mine")
    assert clean_leftovers(runs, "lo") == []
    assert (user / "mine.txt").read_text() == "mine" and not (runs / "lo").exists()
    with pytest.raises(UnsafeTargetError, match=r"\.lo\.previous beside it was not made by a run"):
        check_run_target(runs / "lo")  # refused before a run starts, not after it
    with pytest.raises(UnsafeTargetError):
        RunArtefacts(runs / "lo")
    assert (user / "mine.txt").read_text() == "mine" and not (runs / "lo").exists()
