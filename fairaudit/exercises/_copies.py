"""Workshop copies of the notebooks, made with nbconvert's tag preprocessors.

* ``student``: cells tagged ``solution`` removed, outputs cleared. Run All completes
  and every self-check says "Not yet".
* ``teacher``: everything kept, with the committed outputs. Every check says "Correct".
* ``html``: the student copy rendered with the committed outputs (the checks' outputs
  cleared), for an attendee who follows along without a laptop.

Working copies (``make lab``) are student copies made once per notebook: an existing
copy is never overwritten; :func:`reset_copy` moves it to ``backups/`` first (a folder
JupyterLab shows), and refuses while a running JupyterLab has the notebook open. A
workshop copy that was edited since it was built is moved to ``backups/`` the same way.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from fairaudit._io import project_root, write_text_atomic
from fairaudit.exercises._lab import NotebookOpenError, open_in_lab

VARIANTS = ("student", "teacher")
BACKUPS = "backups"
#: What ``build_workshop`` wrote last, by relative path: an edited copy differs from it.
BUILT = ".fairaudit-built.json"
KERNEL = {
    "name": "fairaudit",
    "display_name": "fairaudit (Python {}.{})".format(*sys.version_info[:2]),
    "language": "python",
}


def _at_root(target, what: str = "--workspace") -> Path:
    """``target`` as given if absolute, else inside the project (never the current folder).

    Refused (``ValueError``, one line): a file, and a folder that is, holds or lies in the
    project's ``notebooks/`` (the committed notebooks every copy is made from).
    """
    default = "workspace" if what == "--workspace" else "workshop"
    path = Path(target) if Path(target).is_absolute() else project_root() / target
    source, real = (project_root() / "notebooks").resolve(), path.resolve()
    if real == source or source.is_relative_to(real) or real.is_relative_to(source):
        raise ValueError(
            f"{what} {target} is or holds the project's notebooks/ folder, whose notebooks "
            f"every copy is made from; name another folder, such as the default {default}."
        )
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {target} is a file, not a folder; name a folder instead.")
    return path


def _notebooks() -> list[Path]:
    """The case studies a workshop uses: the notebooks with exercises (not 04, the scale study)."""
    return [
        path
        for path in sorted((project_root() / "notebooks").glob("[0-9]*.ipynb"))
        if '"exercise"' in path.read_text()
    ]


def _notebook_named(name: str) -> Path:
    found = [p for p in _notebooks() if str(name) in (p.name, p.stem, p.stem.split("_")[0])]
    if len(found) != 1:
        names = ", ".join(p.stem for p in _notebooks())
        raise ValueError(
            f"no workshop notebook {name!r}: use one of {names} (or its number, e.g. 01)"
        )
    return found[0]


def _backup(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` under a time-stamped name; never over another backup."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(
            f"{folder} is a file, but copies are backed up in a folder of that name; move or "
            "rename that file, then try again."
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup, n = folder / f"{path.stem}-{stamp}{path.suffix}", 2
    while backup.exists():  # two in one second keep both
        backup = folder / f"{path.stem}-{stamp}-{n}{path.suffix}"
        n += 1
    folder.mkdir(parents=True, exist_ok=True)
    path.replace(backup)
    return backup


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def convert(source: str | Path, variant: str) -> str:
    """The ``variant`` copy of notebook ``source``, as notebook JSON text.

    Parameters
    ----------
    source : path
        A committed notebook.
    variant : {"student", "teacher"}

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown variant.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    from nbconvert import NotebookExporter
    from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.remove_cell_tags = ("solution",) if variant == "student" else ()
    exporter = NotebookExporter(config=config)
    exporter.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
    if variant == "student":
        exporter.register_preprocessor(ClearOutputPreprocessor(), enabled=True)
    notebook, _ = exporter.from_filename(str(source))
    import nbformat

    nb = nbformat.reads(notebook, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNEL)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return nbformat.writes(nb)


def student_html(source: str | Path) -> str:
    """The student copy of ``source`` rendered as one HTML page, with the committed outputs.

    Solutions are removed and the self-checks' outputs cleared (they answered the
    solutions); everything else is as committed, figures embedded.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.reads(convert(source, "teacher"), as_version=4)
    nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if "check" in cell.metadata.get("tags", []):
            cell.outputs = []
    nb.metadata.pop("widgets", None)
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nb)
    return body


def build_workshop(target: str | Path = "workshop", *, html: bool = True) -> dict[str, list[Path]]:
    """Write ``target/student``, ``target/teacher`` and ``target/html`` for every case study.

    A copy edited since the last build (its content is not what this function wrote) is
    moved to ``target/backups/<variant>/`` first, so a teacher's added cells are kept.

    Parameters
    ----------
    target : path, default "workshop"
        Relative paths are taken from the project root.
    html : bool, default True
        Also render the student copies as HTML pages (``target/html``).

    Returns
    -------
    dict
        The files written, per variant, and ``"backups"``: the edited copies kept.
    """
    target = _at_root(target, "--target")
    built = _built(target / BUILT)
    written: dict[str, list[Path]] = {"backups": []}
    for variant in (*VARIANTS, "html") if html else VARIANTS:
        for source in _notebooks():
            if variant == "html":
                out, text = target / "html" / f"{source.stem}.html", student_html(source)
            else:
                out, text = target / variant / source.name, convert(source, variant)
            key = out.relative_to(target).as_posix()
            if out.exists():
                current = _digest(out.read_text(errors="replace"))
                if current not in (built.get(key), _digest(text)):
                    written["backups"].append(_backup(out, target / BACKUPS / variant))
            written.setdefault(variant, []).append(write_text_atomic(out, text))
            built[key] = _digest(text)
    write_text_atomic(target / BUILT, json.dumps(built, indent=1, sort_keys=True))
    return written


def _built(record: Path) -> dict:
    """The digests ``build_workshop`` recorded, checked: a record that is not one is refused."""
    if not record.exists():
        return {}
    try:
        built = json.loads(record.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        built = exc
    if not isinstance(built, dict) or not all(isinstance(v, str) for v in built.values()):
        raise ValueError(
            f"{record} is not a record of a workshop build ({str(built)[:60]}); delete it and "
            "build again (copies that differ from the fresh ones then go to backups/)."
        )
    return built


def make_copies(target: str | Path = "workspace") -> tuple[list[Path], list[Path]]:
    """Create the missing working copies (student variant); keep every existing one.

    Returns
    -------
    (created, kept) : tuple of lists of paths
    """
    target = _at_root(target)
    created, kept = [], []
    for source in _notebooks():
        copy = target / source.name
        if copy.exists():
            kept.append(copy)
        else:
            created.append(write_text_atomic(copy, convert(source, "student")))
    return created, kept


def reset_copy(name: str, target: str | Path = "workspace") -> tuple[Path, Path | None]:
    """Replace one working copy with a fresh one; the old copy moves to ``backups/``.

    Returns
    -------
    (copy, backup) : the fresh copy and where the old one went (None if there was none)

    Raises
    ------
    ValueError
        If ``name`` matches no case study.
    NotebookOpenError
        If a running JupyterLab has the copy open (replacing it then could be undone by
        the next save in Lab); nothing is changed.
    """
    source = _notebook_named(name)
    target = _at_root(target)
    copy, backup = target / source.name, None
    if copy.exists():
        servers = open_in_lab(copy)
        if servers:
            raise NotebookOpenError(
                f"{source.name} is open in JupyterLab ({servers[0]}); nothing was reset. Close "
                "its tab and shut down its kernel (File > Close and Shut Down Notebook), then "
                "reset again."
            )
        backup = _backup(copy, target / BACKUPS)
    write_text_atomic(copy, convert(source, "student"))
    return copy, backup
