"""The workshop: student and teacher copies, working copies, and the Makefile's entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fairaudit import _workshop
from fairaudit._io import project_root
from fairaudit.exercises import build_workshop, make_copies, reset_copy

ROOT = project_root()
KERNEL_NAME = "fairaudit (Python {}.{})".format(*sys.version_info[:2])
CASE_STUDIES = ["01_credit_loan", "02_adult_income", "03_fairness_monitoring"]
# Small values, injected as papermill does: the self-checks read the data and the audits, not
# the number of mitigation models, so one ExponentiatedGradient bound and a short GridSearch do.
SMALL = {
    "01_credit_loan": {"sample_fraction": 0.2, "n_boot": 100, "epsilons": [0.02]},
    "02_adult_income": {
        "sample_fraction": 0.2,
        "n_boot": 100,
        "eg_bounds": [0.02],
        "gs_grid_size": 3,
    },
    "03_fairness_monitoring": {"sample_fraction": 0.2, "days": 4, "drift_day": 2},
}


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def check_outputs(nb) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs).strip() for c in tagged(nb, "check")]


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    target = tmp_path_factory.mktemp("workshop")
    build_workshop(target, html=False)
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
            assert copy.metadata.kernelspec["display_name"] == KERNEL_NAME


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
    # the three case studies with exercises; notebook 04 (audit at scale) is not a workshop's
    assert sorted(p.stem for p in created) == CASE_STUDIES
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
    # backups/ is a folder JupyterLab shows and opens (a dot-folder answers 404 there)
    assert backup.parent == tmp_path / "backups" and backup.read_text() == edited
    mine.write_text(edited + " ")  # reset twice within a second: both old copies are kept
    _, second = reset_copy("01", tmp_path)
    _, third = reset_copy("01_credit_loan", tmp_path)
    assert len({backup, second, third}) == 3
    assert backup.read_text() == edited and second.read_text() == edited + " "
    with pytest.raises(ValueError, match="no workshop notebook '04'"):
        reset_copy("04", tmp_path)
    with pytest.raises(ValueError, match="no workshop notebook '99'"):
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
    fake = tmp_path / "python3.10"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Python 3.10.13"; exit 0; fi\nexit 1\n'
    )
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    done = _make("setup", f"PYTHON={fake}", f"VENV={venv}")
    assert done.returncode != 0
    assert (
        "fairaudit needs Python 3.11.5 to 3.15" in done.stderr and "Python 3.10.13" in done.stderr
    )
    assert "run end to end on 3.11 and 3.13" in done.stderr
    assert "make setup PYTHON=/path/to/python3.13" in done.stderr
    assert "Nothing was installed" in done.stderr
    assert not venv.exists()


def test_the_supported_pythons_are_the_ones_the_documents_name():
    assert _workshop.supported((3, 11, 5)) and _workshop.supported((3, 15, 0))
    assert not _workshop.supported((3, 11, 4)) and not _workshop.supported((3, 16, 0))
    assert not _workshop.supported((3, 10, 13))
    project = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11.5,<3.16"' in project
    for document in ("README.md", "environment.yml", "Makefile", "notebooks/TEACHERS_GUIDE.md"):
        text = " ".join((ROOT / document).read_text().split())
        assert "3.11 and 3.13" in text and "3.12, 3.14 and 3.15" in text, document


def test_setup_without_make_refuses_an_unsupported_python_before_installing(tmp_path, capsys):
    from unittest import mock

    venv = tmp_path / "venv"
    with mock.patch.object(_workshop.sys, "version_info", (3, 10, 13, "final", 0)):
        code = _workshop.main(["--venv", str(venv), "setup"])
    said = capsys.readouterr().err
    assert code == 2
    assert "fairaudit needs Python 3.11.5 to 3.15" in said and "Python 3.10.13" in said
    assert "Nothing was installed" in said and not venv.exists()
    # an environment made by an unsupported Python is refused too, and left as it is
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "python"
    fake.write_text("#!/bin/sh\necho 3 10 13\n")
    fake.chmod(0o755)
    assert _workshop.main(["--venv", str(venv), "setup"]) == 2
    assert "holds Python 3.10.13" in capsys.readouterr().err
    assert sorted(p.name for p in venv.rglob("*")) == ["bin", "python"]


def test_the_path_without_make_runs_inside_the_project_environment(tmp_path):
    """python -m fairaudit reset/workshop from a Python outside .venv: the same as make."""
    outside = getattr(sys, "_base_executable", sys.executable)
    env = {**os.environ, "FAIRAUDIT_VENV": sys.prefix}
    done = subprocess.run(
        [outside, "-m", "fairaudit", "reset", "02", "--workspace", str(tmp_path / "ws")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "fresh copy:" in done.stdout and (tmp_path / "ws" / "02_adult_income.ipynb").exists()
    same = _make("-n", "reset", "NOTEBOOK=02", f"WORKSPACE={tmp_path / 'ws'}")
    assert "-m fairaudit" in same.stdout and "reset --workspace" in same.stdout


def test_reset_takes_the_notebook_name_as_data_not_as_a_command(tmp_path):
    done = _make(
        "reset", "NOTEBOOK=01; echo INJECTED", f"WORKSPACE={tmp_path}", "VENV=" + sys.prefix
    )
    assert done.returncode == 2
    assert "INJECTED" not in done.stdout.splitlines()
    assert "no workshop notebook '01; echo INJECTED'" in done.stderr
    assert "use one of 01_credit_loan" in done.stderr
    quoted = _make(
        "reset", "NOTEBOOK=01' \"$(echo X)", f"WORKSPACE={tmp_path}", "VENV=" + sys.prefix
    )
    assert quoted.returncode == 2 and "$(echo X)" in quoted.stderr
    assert not list(tmp_path.iterdir())  # nothing was made or moved
    empty = _make("reset", f"WORKSPACE={tmp_path}", "VENV=" + sys.prefix)
    assert empty.returncode == 2 and "name the notebook" in empty.stderr


def test_workshop_keeps_edited_copies_and_writes_solution_free_html(tmp_path):
    first = build_workshop(tmp_path, html=False)
    assert not first["backups"]
    teacher = tmp_path / "teacher" / "01_credit_loan.ipynb"
    nb = nbformat.read(teacher, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("My own notes for the room."))
    nbformat.write(nb, teacher)
    second = build_workshop(tmp_path, html=False)
    assert len(second["backups"]) == 1
    kept = second["backups"][0]
    assert kept.parent == tmp_path / "backups" / "teacher"
    assert "My own notes for the room." in kept.read_text()
    assert "My own notes" not in teacher.read_text()  # the fresh copy
    third = build_workshop(tmp_path)  # an unedited copy is simply rebuilt; the pages too
    assert not third["backups"] and len(third["html"]) == 3

    committed = nbformat.read(ROOT / "notebooks" / "02_adult_income.ipynb", as_version=4)
    html = (tmp_path / "html" / "02_adult_income.html").read_text()
    solutions = [c.source for c in committed.cells if "solution" in c.metadata.get("tags", [])]
    import html as html_lib
    import re

    page = html_lib.unescape(re.sub(r"<[^>]+>", "", html))  # the text a reader sees
    for source in solutions:
        assert source.splitlines()[-1] not in page  # the line that sets the answer
    assert "answer_failed = None" in page  # the student's cells are there
    assert "Correct" not in page  # the checks' outputs (they answered the solutions) are cleared
    assert "data:image/png;base64" in html  # figures embedded: one file per notebook


def test_lab_serves_the_project_kernel_by_default_without_news_and_runs_as_root():
    plan = _make("-n", "lab", "WORKSPACE=/tmp/somewhere")
    assert plan.returncode == 0, plan.stderr
    assert '-m fairaudit --venv ".venv" lab --workspace "/tmp/somewhere"' in plan.stdout
    command = _workshop.lab_command(Path(sys.executable), "/tmp/somewhere", 8888)
    assert "--MappingKernelManager.default_kernel_name=fairaudit" in command
    assert "--ServerApp.root_dir=/tmp/somewhere" in command
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    kernels = Path(sys.prefix) / "share" / "jupyter" / "kernels"
    spec = json.loads((kernels / "fairaudit" / "kernel.json").read_text())
    assert spec["display_name"] == KERNEL_NAME
    assert "--ext=fairaudit.exercises" in spec["argv"]
    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    notification = json.loads(overrides.read_text())["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}


def test_an_active_conda_environment_is_used_instead_of_a_new_venv(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    conda = {"CONDA_PREFIX": str(tmp_path), "CONDA_DEFAULT_ENV": "fairaudit"}
    plan = _make("-n", "-W", "requirements.lock", "setup", env=conda)
    assert plan.returncode == 0, plan.stderr
    assert f'-m fairaudit --venv "{tmp_path}" setup' in plan.stdout
    assert ".venv" not in plan.stdout
    # conda's base environment is not taken over: the project's .venv is used then
    base = _make(
        "-n", "-W", "requirements.lock", "setup", env={**conda, "CONDA_DEFAULT_ENV": "base"}
    )
    assert str(tmp_path) not in base.stdout and '--venv ".venv"' in base.stdout


@pytest.fixture
def fake_project(tmp_path, monkeypatch):
    """A project whose notebooks/ is a copy, so a refusal that fails cannot harm the real one."""
    from fairaudit.exercises import _copies

    (tmp_path / "project" / "notebooks").mkdir(parents=True)
    for name in CASE_STUDIES:
        source = ROOT / "notebooks" / f"{name}.ipynb"
        (tmp_path / "project" / "notebooks" / source.name).write_bytes(source.read_bytes())
    monkeypatch.setattr(_copies, "project_root", lambda: tmp_path / "project")
    return tmp_path / "project"


def _refusal(capsys, *argv) -> str:
    code = _workshop.main(["--venv", sys.prefix, *argv])
    said = capsys.readouterr().err
    assert code == 2 and said.startswith("error: ") and said.count("\n") == 1, said
    assert "Traceback" not in said
    return said


@pytest.mark.parametrize("folder", ["notebooks", ".", "notebooks/sub"])
def test_the_projects_notebooks_folder_is_never_a_workspace_or_workshop_target(
    fake_project, capsys, folder
):
    before = {p: p.read_bytes() for p in fake_project.rglob("*") if p.is_file()}
    said = _refusal(capsys, "reset", "01", "--workspace", folder)
    assert "notebooks/ folder" in said and "such as the default workspace" in said
    said = _refusal(capsys, "lab", "--workspace", folder)
    assert "notebooks/ folder" in said
    said = _refusal(capsys, "workshop", "--target", folder)
    assert "notebooks/ folder" in said and "such as the default workshop" in said
    assert {p: p.read_bytes() for p in fake_project.rglob("*") if p.is_file()} == before


def test_files_where_folders_belong_and_a_bad_build_record_get_one_line(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    assert "is a file" in _refusal(capsys, "reset", "01", "--workspace", str(a_file))
    assert "is a file" in _refusal(capsys, "lab", "--workspace", str(a_file))
    assert "is a file" in _refusal(capsys, "workshop", "--target", str(a_file))
    assert a_file.read_text() == "mine"
    ws = tmp_path / "ws"
    make_copies(ws)
    (ws / "backups").write_text("not a folder")
    said = _refusal(capsys, "reset", "01", "--workspace", str(ws))
    assert f"{ws / 'backups'} is a file" in said and "move or rename" in said
    assert (ws / "01_credit_loan.ipynb").is_file()  # the copy was not moved
    under = _refusal(capsys, "reset", "01", "--workspace", str(a_file / "ws"))
    assert str(a_file) in under
    for record in ("[1, 2]", "{broken", '{"student/x.ipynb": 3}'):
        (tmp_path / "shop").mkdir(exist_ok=True)
        (tmp_path / "shop" / ".fairaudit-built.json").write_text(record)
        said = _refusal(capsys, "workshop", "--target", str(tmp_path / "shop"))
        assert str(tmp_path / "shop" / ".fairaudit-built.json") in said and "delete it" in said
