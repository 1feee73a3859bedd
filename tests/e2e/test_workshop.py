"""The workshop: student and teacher copies, working copies, and the Makefile's entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fairaudit._io import project_root
from fairaudit.exercises import build_workshop, make_copies, reset_copy

ROOT = project_root()
CASE_STUDIES = ["01_credit_loan", "02_adult_income", "03_fairness_monitoring"]
SMALL = {
    "01_credit_loan": {"sample_fraction": 0.2, "n_boot": 100},
    "02_adult_income": {"sample_fraction": 0.2, "n_boot": 100},
    "03_fairness_monitoring": {"sample_fraction": 0.2, "days": 4, "drift_day": 2},
}


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def check_outputs(nb) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs).strip() for c in tagged(nb, "check")]


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    target = tmp_path_factory.mktemp("workshop")
    build_workshop(target)
    return target


@pytest.mark.parametrize("name", CASE_STUDIES)
def test_each_notebook_has_three_exercises_with_hint_solution_check_and_discussion(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    prompts = [c for c in tagged(nb, "exercise") if c.cell_type == "markdown"]
    assert len(prompts) >= 3
    assert all("<summary>Hint</summary>" in c.source for c in prompts)
    assert len(tagged(nb, "solution")) == len(prompts) == len(tagged(nb, "check"))
    assert len(tagged(nb, "discussion")) >= len(prompts)
    # the committed (teacher) outputs: every self-check passed on the solutions
    assert check_outputs(nb) == ["Correct"] * len(prompts)


def test_student_copies_drop_solutions_and_outputs_teacher_copies_keep_everything(workshop):
    for name in CASE_STUDIES:
        committed = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        student = nbformat.read(workshop / "student" / f"{name}.ipynb", as_version=4)
        teacher = nbformat.read(workshop / "teacher" / f"{name}.ipynb", as_version=4)
        assert not tagged(student, "solution")
        assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
        kept = [c.source for c in committed.cells if "solution" not in c.metadata.get("tags", [])]
        assert [c.source for c in student.cells] == kept
        assert [c.source for c in teacher.cells] == [c.source for c in committed.cells]
        assert check_outputs(teacher) == check_outputs(committed)
        for copy in (student, teacher):
            assert copy.metadata.kernelspec["name"] == "fairaudit"
            assert copy.metadata.kernelspec["display_name"] == "fairaudit (Python 3.11)"


def _run(path: Path, executed: Path, parameters: dict) -> nbformat.NotebookNode:
    import papermill as pm

    pm.execute_notebook(
        str(path),
        str(executed),
        parameters=parameters,
        cwd=str(path.parent),
        kernel_name="fairaudit",
        progress_bar=False,
    )
    return nbformat.read(executed, as_version=4)


@pytest.mark.parametrize("name", CASE_STUDIES)
def test_student_copy_runs_all_and_every_check_says_not_yet(workshop, tmp_path, name):
    nb = _run(workshop / "student" / f"{name}.ipynb", tmp_path / "run.ipynb", SMALL[name])
    outputs = check_outputs(nb)
    assert len(outputs) >= 3
    assert all(o.startswith("Not yet: ") for o in outputs), outputs
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


def test_teacher_copy_runs_all_and_every_check_says_correct_under_other_parameters(
    workshop, tmp_path
):
    name = "03_fairness_monitoring"
    nb = _run(workshop / "teacher" / f"{name}.ipynb", tmp_path / "run.ipynb", SMALL[name])
    assert check_outputs(nb) == ["Correct"] * 3


def test_working_copies_are_made_once_never_overwritten_and_reset_keeps_a_backup(tmp_path):
    created, kept = make_copies(tmp_path)
    assert sorted(p.name for p in created) == sorted(
        p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")
    )
    assert not kept
    mine = tmp_path / "01_credit_loan.ipynb"
    edited = mine.read_text().replace("answer_fnr = None", "answer_fnr = 0.25")
    assert edited != mine.read_text()  # the attendee's answer is really in the copy
    mine.write_text(edited)
    created, kept = make_copies(tmp_path)
    assert not created and mine in kept
    assert mine.read_text() == edited

    copy, backup = reset_copy("01", tmp_path)
    assert copy == mine and "answer_fnr = None" in mine.read_text()
    assert backup.parent == tmp_path / ".backups" and backup.read_text() == edited
    mine.write_text(edited + " ")  # reset twice within a second: both old copies are kept
    _, second = reset_copy("01", tmp_path)
    _, third = reset_copy("01_credit_loan", tmp_path)
    assert len({backup, second, third}) == 3
    assert backup.read_text() == edited and second.read_text() == edited + " "
    with pytest.raises(ValueError, match="no notebook '99'"):
        reset_copy("99", tmp_path)


def _make(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_wrong_python_is_refused_before_anything_is_installed(tmp_path):
    fake = tmp_path / "python3.12"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Python 3.12.3"; exit 0; fi\nexit 1\n'
    )
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    done = _make("setup", f"PYTHON={fake}", f"VENV={venv}")
    assert done.returncode != 0
    assert "fairaudit needs Python 3.11" in done.stderr and "Python 3.12.3" in done.stderr
    assert "make setup PYTHON=/path/to/python3.11" in done.stderr
    assert "Nothing was installed" in done.stderr
    assert not venv.exists()


def test_an_active_conda_environment_is_used_instead_of_a_new_venv(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    conda = {"CONDA_PREFIX": str(tmp_path), "CONDA_DEFAULT_ENV": "fairaudit"}
    plan = _make("-n", "setup", env=conda)
    assert plan.returncode == 0, plan.stderr
    assert f"{tmp_path}/bin/python -m pip install --quiet -r requirements.lock" in plan.stdout
    assert "-m venv" not in plan.stdout and ".venv" not in plan.stdout
    # conda's base environment is not taken over: the project's .venv is used then
    base = _make(
        "-n", "-W", "requirements.lock", "setup", env={**conda, "CONDA_DEFAULT_ENV": "base"}
    )
    assert f"{tmp_path}/bin/python" not in base.stdout and ".venv/bin/python" in base.stdout


def test_lab_serves_the_project_kernel_by_default_and_runs_as_root():
    plan = _make("-n", "lab", "WORKSPACE=/tmp/somewhere")
    assert plan.returncode == 0, plan.stderr
    assert "--MappingKernelManager.default_kernel_name=fairaudit" in plan.stdout
    assert "--ServerApp.root_dir=/tmp/somewhere" in plan.stdout
    assert ("--allow-root" in plan.stdout) == (os.geteuid() == 0)
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "fairaudit" / "kernel.json"
    assert json.loads(spec.read_text())["display_name"] == "fairaudit (Python 3.11)"
