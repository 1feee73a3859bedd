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


def rendered_markdown(notebook) -> list[str]:
    """The sentences a notebook rendered from its numbers: its code cells' Markdown outputs.

    ``notebook`` is an executed notebook or the path to one.
    """
    import nbformat

    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.read(str(notebook), as_version=4)
    return [
        output["data"]["text/markdown"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]
