"""Workshop copies of the notebooks, made with nbconvert's tag preprocessors.

* ``student``: cells tagged ``solution`` removed, outputs cleared. Run All completes
  and every self-check says "Not yet".
* ``teacher``: everything kept, with the committed outputs. Every check says "Correct".

Working copies (``make lab``) are student copies made once per notebook: an existing
copy is never overwritten; :func:`reset_copy` moves it to ``.backups/`` first.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fairaudit._io import project_root, write_text_atomic

VARIANTS = ("student", "teacher")
KERNEL = {"name": "fairaudit", "display_name": "fairaudit (Python 3.11)", "language": "python"}


def _at_root(target) -> Path:
    """``target`` as given if absolute, else inside the project (never the current folder)."""
    return Path(target) if Path(target).is_absolute() else project_root() / target


def _notebooks() -> list[Path]:
    return sorted((project_root() / "notebooks").glob("[0-9]*.ipynb"))


def _notebook_named(name: str) -> Path:
    found = [p for p in _notebooks() if name in (p.name, p.stem, p.stem.split("_")[0])]
    if len(found) != 1:
        names = ", ".join(p.stem for p in _notebooks())
        raise ValueError(f"no notebook {name!r}: use one of {names} (or its number, e.g. 01)")
    return found[0]


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


def build_workshop(target: str | Path = "workshop") -> dict[str, list[Path]]:
    """Write ``target/student`` and ``target/teacher`` copies of every case study.

    Parameters
    ----------
    target : path, default "workshop"
        Relative paths are taken from the project root.

    Returns
    -------
    dict
        The files written, per variant.
    """
    target = _at_root(target)
    written: dict[str, list[Path]] = {}
    for variant in VARIANTS:
        for source in _notebooks():
            out = write_text_atomic(target / variant / source.name, convert(source, variant))
            written.setdefault(variant, []).append(out)
    return written


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
    """Replace one working copy with a fresh one; the old copy moves to ``.backups/``.

    Returns
    -------
    (copy, backup) : the fresh copy and where the old one went (None if there was none)

    Raises
    ------
    ValueError
        If ``name`` matches no case study.
    """
    source = _notebook_named(name)
    target = _at_root(target)
    copy, backup = target / source.name, None
    if copy.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = target / ".backups" / f"{source.stem}-{stamp}.ipynb"
        n = 2
        while backup.exists():  # two resets in one second keep both old copies
            backup = target / ".backups" / f"{source.stem}-{stamp}-{n}.ipynb"
            n += 1
        backup.parent.mkdir(parents=True, exist_ok=True)
        copy.replace(backup)
    write_text_atomic(copy, convert(source, "student"))
    return copy, backup


def main(argv: list[str] | None = None) -> int:
    """``python -m fairaudit.exercises build|copies|reset ...`` (used by the Makefile)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if args[:1] == ["build"] and len(args) <= 2:
            for variant, files in build_workshop(*args[1:]).items():
                print(f"{variant}: {len(files)} notebooks in {files[0].parent}")
        elif args[:1] == ["copies"] and len(args) <= 2:
            created, kept = make_copies(*args[1:])
            for path in created:
                print(f"created {path}")
            if kept:
                print(f"kept your {len(kept)} existing copies (reset one: make reset NOTEBOOK=01)")
        elif args[:1] == ["reset"] and len(args) in (2, 3):
            copy, backup = reset_copy(*args[1:])
            moved = f"; your previous copy is in {backup}" if backup else ""
            print(f"fresh copy: {copy}{moved}")
        else:
            print(
                "usage: python -m fairaudit.exercises build [DIR] | copies [DIR] | "
                "reset NOTEBOOK [DIR]",
                file=sys.stderr,
            )
            return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
