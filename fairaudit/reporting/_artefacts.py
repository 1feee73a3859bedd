"""Writing a case study's artefacts safely and with their provenance.

Readers compare artefacts across runs, so every one records the parameters,
the data checksums and the library versions that made it (:func:`run_metadata`),
and a run that fails half-way never leaves a mix of old and new files:
:class:`RunArtefacts` writes into a private folder that replaces the run
folder whole.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from pathlib import Path

from fairaudit._io import (
    RUN_DIR_ENV,
    RUN_STAGING_ENV,
    WORK_MARKER,
    check_run_target,
    clean_leftovers,
    library_versions,
    private_workdir,
    replace_dir,
    resolve_path,
    scratch_dir,
    write_json_atomic,
    write_text_atomic,
)

__all__ = ["RunArtefacts", "library_versions", "run_metadata"]


def run_metadata(params: dict | None = None, dataset=None) -> dict:
    """Provenance to embed in every JSON artefact: parameters, data checksums, library versions.

    Parameters
    ----------
    params : dict, optional
        The notebook's parameters (as :func:`fairaudit.cli.check_parameters` returns them).
    dataset : str or pandas.DataFrame, optional
        A data-set name (``"credit_card"``, ``"adult"``) or a frame returned by
        a :mod:`fairaudit.datasets` loader (its ``attrs`` are used).

    Returns
    -------
    dict
        ``parameters``, ``data`` (name, SHA-256 of each raw file and, for a
        loaded frame, where it came from and the digest of its contents),
        ``versions`` and ``platform``.
    """
    from fairaudit.datasets import dataset_checksums

    info: dict = {"parameters": dict(params or {})}
    if isinstance(dataset, str):
        info["data"] = {"name": dataset, "sha256": dataset_checksums(dataset)}
    elif dataset is not None:
        attrs = dataset.attrs
        info["data"] = {"name": attrs.get("name"), "source": attrs.get("source"),
                        "rows": int(len(dataset)), "sha256": attrs.get("sha256"),
                        "content_sha256": attrs.get("content_sha256")}  # fmt: skip
    info["versions"] = library_versions()
    info["platform"] = platform.platform()
    return info


class RunArtefacts:
    """A run's artefacts, written privately and published all at once.

    Files go into a private folder; :meth:`commit` makes them the run folder
    ``output_dir``, replacing the previous run's whole, so a run that fails
    half-way leaves the previous results as they were. Under ``fairaudit run``
    the private folder is the command's own, which publishes the artefacts with
    the executed notebook and the run record. Otherwise (JupyterLab, papermill)
    it is a hidden sibling ``.<name>.run-<pid>-*`` that :meth:`commit` swaps in;
    ``output_dir`` must then be new, empty or a run folder
    (:func:`fairaudit._io.check_run_target`), and work folders of killed runs
    are removed on start.

    Parameters
    ----------
    output_dir : path
        The run folder; relative paths resolve against the project root.

    Raises
    ------
    fairaudit._io.UnsafeTargetError
        If ``output_dir`` is a folder a run must not replace.

    Examples
    --------
    >>> art = RunArtefacts("reports/credit_loan")  # doctest: +SKIP
    >>> art.write_json("summary.json", {"accuracy": 0.8})  # doctest: +SKIP
    >>> art.commit()  # doctest: +SKIP
    """

    def __init__(self, output_dir: str | os.PathLike):
        target = Path(os.path.abspath(resolve_path(output_dir)))
        self.by_command = os.environ.get(RUN_DIR_ENV) == str(target)
        if self.by_command:
            self.output_dir, self.staging_dir = target, Path(os.environ[RUN_STAGING_ENV])
        else:
            self.output_dir = check_run_target(output_dir)  # refused now, not after the work
            parent, name = self.output_dir.parent, self.output_dir.name
            clean_leftovers(parent, name)
            for stale in parent.glob(f".{name}.run-{os.getpid()}-*"):  # an abandoned attempt
                if (stale / WORK_MARKER).is_file() and not stale.is_symlink():
                    shutil.rmtree(stale, ignore_errors=True)
            self.staging_dir = private_workdir(parent, name)
        self.committed = False

    @property
    def names(self) -> list[str]:
        """The artefacts written so far, sorted (hidden files left out)."""
        folder = self.output_dir if self.committed and not self.by_command else self.staging_dir
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))

    def path(self, name: str) -> Path:
        """Where to write artefact ``name`` (a file name) until :meth:`commit`."""
        if self.committed:
            raise RuntimeError("These artefacts were already committed; start a new RunArtefacts.")
        return self.staging_dir / name

    def scratch(self) -> tempfile.TemporaryDirectory:
        """A temporary folder for large files that are not artefacts (its ``name`` is the path).

        Removed by its ``cleanup()`` or when the kernel ends; if the kernel was
        killed, by the next run (:func:`fairaudit._io.scratch_dir`).
        """
        return scratch_dir()

    def write_json(self, name: str, obj) -> Path:
        """Write a JSON artefact (numpy and pandas values converted, NaN as null)."""
        return write_json_atomic(self.path(name), obj)

    def write_text(self, name: str, text: str) -> Path:
        """Write a text artefact (Markdown, CSV)."""
        return write_text_atomic(self.path(name), text)

    def savefig(self, fig, name: str, **kwargs) -> Path:
        """Save a matplotlib figure as PNG (150 dpi, tight); ``kwargs`` go to ``savefig``."""
        target = self.path(name)
        fig.savefig(target, **{"dpi": 150, "bbox_inches": "tight", **kwargs})
        return target

    def commit(self) -> Path:
        """Publish the artefacts as ``output_dir`` (under ``fairaudit run``, the command does)."""
        if not self.committed and not self.by_command:
            replace_dir(self.staging_dir, self.output_dir)
        self.committed = True
        return self.output_dir

    def __repr__(self) -> str:
        state = "committed" if self.committed else "staging"
        return f"RunArtefacts({str(self.output_dir)!r}, {state})"
