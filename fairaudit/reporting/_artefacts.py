"""Writing a case study's artefacts safely and with their provenance.

A notebook run produces JSON summaries, figures and models. Readers compare
them across runs, so every artefact records the parameters, the data checksum
and the library versions that made it (:func:`run_metadata`), and a run that
fails half-way must never leave a mix of old and new files behind:
:class:`RunArtefacts` stages everything in a hidden sibling folder and swaps it
into place only when the run commits.
"""

from __future__ import annotations

import os
import platform
import shutil
from importlib import metadata
from pathlib import Path

import pandas as pd

from fairaudit._io import (
    check_run_target,
    clean_leftovers,
    private_workdir,
    replace_dir,
    write_json_atomic,
)
from fairaudit.datasets import dataset_checksums

__all__ = [
    "run_metadata",
    "library_versions",
    "RunArtefacts",
]


_LIBRARIES = (
    "fairaudit",
    "fairlearn",
    "scikit-learn",
    "pandas",
    "numpy",
    "scipy",
    "matplotlib",
    "seaborn",
    "duckdb",
    "skops",
    "papermill",
)


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries whose behaviour shapes the results."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_metadata(params: dict | None = None, dataset: str | pd.DataFrame | None = None) -> dict:
    """Provenance to embed in every JSON artefact: parameters, data checksums, library versions.

    ``dataset`` is a data-set name (``"credit_card"``, ``"adult"``) or a frame
    returned by a :mod:`fairaudit.datasets` loader (its ``attrs`` are used).

    Parameters
    ----------
    params : dict, optional
        The notebook's parameters (as :func:`fairaudit.cli.check_parameters` returns them).
    dataset : str or pandas.DataFrame, optional

    Returns
    -------
    dict
        ``parameters``, ``data`` (name, SHA-256 of each raw file and, for a
        loaded frame, where it came from and the digest of its contents) and
        ``versions``.
    """
    info: dict = {"parameters": dict(params or {})}
    if isinstance(dataset, pd.DataFrame):
        attrs = dataset.attrs
        info["data"] = {
            "name": attrs.get("name"),
            "source": attrs.get("source"),
            "rows": int(len(dataset)),
            "sha256": attrs.get("sha256"),
            "content_sha256": attrs.get("content_sha256"),
        }
    elif dataset is not None:
        info["data"] = {"name": dataset, "sha256": dataset_checksums(dataset)}
    info["versions"] = library_versions()
    info["platform"] = platform.platform()
    return info


class RunArtefacts:
    """Stage a run's artefacts and publish them all at once.

    Files are written into a private hidden sibling of ``output_dir``
    (``.<name>.staging-<pid>-*``); :meth:`commit` swaps it into place. Until
    then the previous run's artefacts stay untouched, so a run that fails
    half-way leaves no mix of old and new files, and two runs never share a
    staging folder. ``output_dir`` must be new, empty or a folder a run
    published (:func:`fairaudit._io.check_run_target`); staging folders of
    killed runs are removed on start.

    Parameters
    ----------
    output_dir : path
        The folder the artefacts are published as; relative paths resolve
        against the project root (:func:`resolve_path`).

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
        self.output_dir = check_run_target(output_dir)  # refused now, not after the work
        clean_leftovers(self.output_dir.parent, self.output_dir.name)
        # An earlier, abandoned attempt of this same kernel (a notebook re-run in JupyterLab).
        for stale in self.output_dir.parent.glob(
            f".{self.output_dir.name}.staging-{os.getpid()}-*"
        ):
            shutil.rmtree(stale, ignore_errors=True)
        self.staging_dir = private_workdir(self.output_dir.parent, self.output_dir.name, "staging")
        self.committed = False

    def path(self, name: str) -> Path:
        """Where to write artefact ``name`` (inside the staging folder until commit).

        Parameters
        ----------
        name : str
            A file name (no folders).

        Returns
        -------
        pathlib.Path
        """
        if self.committed:
            raise RuntimeError("These artefacts were already committed; start a new RunArtefacts.")
        target = self.staging_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_json(self, name: str, obj) -> Path:
        """Write a JSON artefact (NaN becomes null) and return its staging path.

        Parameters
        ----------
        name : str
        obj : JSON-like
            numpy and pandas values are converted.

        Returns
        -------
        pathlib.Path
        """
        return write_json_atomic(self.path(name), obj)

    def write_text(self, name: str, text: str) -> Path:
        """Write a text artefact (Markdown, CSV) and return its staging path.

        Parameters
        ----------
        name : str
        text : str

        Returns
        -------
        pathlib.Path
        """
        target = self.path(name)
        target.write_text(text, encoding="utf-8")
        return target

    def savefig(self, fig, name: str, **kwargs) -> Path:
        """Save a matplotlib figure as PNG (150 dpi, tight) and return its staging path.

        Parameters
        ----------
        fig : matplotlib.figure.Figure
        name : str
        **kwargs
            Passed to :meth:`matplotlib.figure.Figure.savefig`.

        Returns
        -------
        pathlib.Path
        """
        kwargs = {"dpi": 150, "bbox_inches": "tight", **kwargs}
        target = self.path(name)
        fig.savefig(target, **kwargs)
        return target

    def commit(self) -> Path:
        """Publish the staged artefacts at ``output_dir``, replacing the previous run's."""
        if self.committed:
            return self.output_dir
        replace_dir(self.staging_dir, self.output_dir)
        self.committed = True
        return self.output_dir

    def __repr__(self) -> str:
        state = "committed" if self.committed else "staging"
        return f"RunArtefacts({str(self.output_dir)!r}, {state})"
