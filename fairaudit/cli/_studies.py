"""The case studies the ``fairaudit`` command knows, and where each one writes.

A case study is a parameterised notebook under ``notebooks/`` with its
parameters declared in :mod:`fairaudit.studies`. The registry adds what the
command needs: a short name to type, a one-line description, the JSON
artefact whose ``"headline"`` the report index shows, and the data set whose
checksums each run records. A study whose notebook is missing (a partial
checkout) is listed as "not available" and refused by ``fairaudit run``.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fairaudit._io import project_root, resolve_path

__all__ = ["STUDIES", "Study", "UnknownStudyError", "closest", "get_study", "reports_dir"]


class UnknownStudyError(LookupError):
    """A case-study name that is not in the registry (a usage error)."""


def reports_dir() -> Path:
    """The folder holding run folders, ``failed/`` and ``index.html`` (``reports/``)."""
    return resolve_path("reports")


@dataclass(frozen=True)
class Study:
    """One case study: a parameterised notebook and what the command shows of it.

    Parameters
    ----------
    name : str
        The name typed on the command line (``fairaudit run credit-loan``).
    notebook : str
        The notebook's path, relative to the project root.
    description : str
        One line saying what the study teaches.
    main_json : str
        The artefact whose ``"headline"`` dict the report index shows.
    dataset : str or None
        The data set whose checksums ``run.json`` records.
    parameters : str or dict
        Its module in :mod:`fairaudit.studies` (imported on first use), or the
        declaration itself.
    """

    name: str
    notebook: str
    description: str
    main_json: str
    dataset: str | None = None
    parameters: str | dict = ""

    @property
    def notebook_path(self) -> Path:
        path = Path(self.notebook)
        return path if path.is_absolute() else project_root() / path

    @property
    def available(self) -> bool:
        """Whether the notebook file exists."""
        return self.notebook_path.is_file()

    @property
    def declared(self) -> dict:
        """Its parameters by name (:class:`fairaudit.studies._parameters.Parameter`)."""
        if isinstance(self.parameters, dict):
            return self.parameters
        return importlib.import_module(f"fairaudit.studies.{self.parameters}").PARAMETERS

    @property
    def run_dir(self) -> Path:
        """``reports/<name>``, ``<name>`` ending the default of its ``output_dir``."""
        default = self.declared["output_dir"].default
        return reports_dir() / PurePosixPath(default.replace("\\", "/")).name


STUDIES: dict[str, Study] = {
    study.name: study
    for study in (
        Study("credit-loan", "notebooks/01_credit_loan.ipynb",
              "Loan decisions: who a default model harms, audited, then mitigated.",
              "summary.json", "credit_card", "credit_loan"),
        Study("adult-income", "notebooks/02_adult_income.ipynb",
              "A production-style audit: fairness gate, mitigation, decision rule.",
              "mitigation_report.json", "adult", "adult_income"),
        Study("fairness-monitoring", "notebooks/03_fairness_monitoring.ipynb",
              "Monitoring a deployed model: disparate impact over time, alerts.",
              "monitor_summary.json", "credit_card", "fairness_monitoring"),
        Study("audit-at-scale", "notebooks/04_audit_at_scale.ipynb",
              "Auditing a decision log where it lives: DuckDB, Polars, Spark.",
              "scale_summary.json", None, "audit_at_scale"),
    )
}  # fmt: skip


def closest(word: str, candidates) -> str | None:
    """The candidate most similar to ``word`` (for "did you mean ...?"), or ``None``."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def get_study(name: str, registry: dict[str, Study] | None = None) -> Study:
    """Look a study up by name, refusing an unknown one with the valid names.

    Raises
    ------
    UnknownStudyError
        With a message listing the known names and the closest match.
    """
    registry = STUDIES if registry is None else registry
    if name in registry:
        return registry[name]
    hint = closest(name, registry)
    raise UnknownStudyError(
        f"Unknown case study {name!r}."
        + (f" Did you mean {hint!r}?" if hint else "")
        + f" Known case studies: {', '.join(registry)}."
    )
