"""The exercises' machinery: self-checks, working copies, workshop copies.

Each exercise cell ends with ``check("<exercise>", answer, **evidence)``, which
prints ``Correct`` or ``Not yet`` with a nudge, and never raises, so Run All
always completes. The expected value is computed from the evidence the notebook
passes in (its own data and results), never stored, so any correct way of
reaching the answer passes and a run with other parameters is checked against
its own numbers. Each study declares its exercises' judges in
``fairaudit/studies/<study>.py``; this package holds what they share.
"""

from ._check import (
    EXERCISES,
    KINDS,
    Exercise,
    Verdict,
    as_answer,
    check,
    exercise,
    judge_number,
    printed_range,
    registered,
)
from ._copies import build_workshop, convert, make_copies, reset_copy, student_html
from ._hints import load_ipython_extension, name_error_hint
from ._lab import NotebookOpenError, open_in_lab

__all__ = [
    "EXERCISES",
    "KINDS",
    "Exercise",
    "NotebookOpenError",
    "Verdict",
    "as_answer",
    "build_workshop",
    "check",
    "convert",
    "exercise",
    "judge_number",
    "load_ipython_extension",
    "make_copies",
    "name_error_hint",
    "open_in_lab",
    "persistent_alerts",
    "printed_range",
    "registered",
    "reset_copy",
    "student_html",
]


def __getattr__(name):
    if name == "persistent_alerts":  # the monitoring study's helper, kept importable here
        from fairaudit.studies.fairness_monitoring import persistent_alerts

        return persistent_alerts
    raise AttributeError(f"module 'fairaudit.exercises' has no attribute {name!r}")
