"""Running a case-study notebook with other parameters, as the variant tests do."""

from pathlib import Path

from fairaudit._io import project_root

NOTEBOOKS = project_root() / "notebooks"


def execute_case_study(notebook: str, executed: Path, parameters: dict) -> None:
    """Execute ``notebooks/<notebook>`` with papermill from its own folder, quietly.

    Raises papermill's ``PapermillExecutionError`` if a cell raises, so tests
    can assert on the notebook's own error messages.
    """
    import papermill as pm

    pm.execute_notebook(
        str(NOTEBOOKS / notebook),
        str(executed),
        parameters=parameters,
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
    )
