"""The case studies the ``fairaudit`` command knows, and where each one writes.

A case study is a parameterised notebook under ``notebooks/``. The registry
below adds what the command needs to run and present it: a short name to type,
a one-line description, the JSON artefact whose ``"headline"`` the report index
shows, and the data set whose checksums each run records.

Every study is listed, including one whose notebook file is missing (a partial
checkout); ``fairaudit list`` marks it "not available" and ``fairaudit run``
refuses it with that reason instead of failing half-way.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from fairaudit._io import project_root

__all__ = ["Study", "STUDIES", "UnknownStudyError", "get_study", "closest"]


class UnknownStudyError(LookupError):
    """A case-study name that is not in the registry (a usage error)."""


@dataclass(frozen=True)
class Study:
    """One case study: a parameterised notebook and what the command shows of it.

    Parameters
    ----------
    name : str
        The name typed on the command line (``fairaudit run credit-loan``).
    notebook : str
        The notebook's path, relative to the project root (absolute paths are kept).
    description : str
        One line saying what the study teaches.
    main_json : str
        The artefact (inside the run folder) whose top-level ``"headline"`` dict
        the report index shows.
    dataset : str or None
        Name for :func:`fairaudit.datasets.dataset_checksums`, recorded in ``run.json``.
    """

    name: str
    notebook: str
    description: str
    main_json: str
    dataset: str | None = None

    @property
    def notebook_path(self) -> Path:
        """Absolute path of the notebook."""
        path = Path(self.notebook)
        return path if path.is_absolute() else project_root() / path

    @property
    def available(self) -> bool:
        """Whether the notebook file exists (a study can be registered before it is written)."""
        return self.notebook_path.is_file()


STUDIES: dict[str, Study] = {
    study.name: study
    for study in (
        Study(
            name="credit-loan",
            notebook="notebooks/01_credit_loan.ipynb",
            description="Loan decisions: who a default model harms, audited, then mitigated.",
            main_json="summary.json",
            dataset="credit_card",
        ),
        Study(
            name="adult-income",
            notebook="notebooks/02_adult_income.ipynb",
            description="A production-style audit: fairness gate, mitigation, decision rule.",
            main_json="mitigation_report.json",
            dataset="adult",
        ),
        Study(
            name="fairness-monitoring",
            notebook="notebooks/03_fairness_monitoring.ipynb",
            description="Monitoring a deployed model: disparate impact over time, alerts.",
            main_json="monitor_summary.json",
            dataset="credit_card",
        ),
        Study(
            name="audit-at-scale",
            notebook="notebooks/04_audit_at_scale.ipynb",
            description="Auditing a decision log where it lives: DuckDB, Polars, Spark.",
            main_json="scale_summary.json",
        ),
    )
}


def closest(word: str, candidates) -> str | None:
    """The candidate most similar to ``word`` (for "did you mean ...?"), or ``None``."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def get_study(name: str, registry: dict[str, Study] | None = None) -> Study:
    """Look a study up by name, refusing an unknown one with the valid names.

    Parameters
    ----------
    name : str
    registry : dict, optional
        Default: the built-in case studies.

    Returns
    -------
    Study




    Raises
    ------
    UnknownStudyError
        With a message listing the known names and the closest match.
    """
    registry = STUDIES if registry is None else registry
    if name in registry:
        return registry[name]
    hint = closest(name, registry)
    message = f"Unknown case study {name!r}."
    if hint:
        message += f" Did you mean {hint!r}?"
    message += f" Known case studies: {', '.join(registry)}."
    raise UnknownStudyError(message)
