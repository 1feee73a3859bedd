"""Self-checks for the notebooks' exercises.

Each exercise cell ends with ``check("<exercise>", answer, **evidence)``, which
prints ``Correct`` or ``Not yet`` with a nudge, and never raises, so Run All
always completes. The expected value is computed here from the evidence the
notebook passes in (its own data and results), never stored, so any correct
way of reaching the answer passes and a run with other parameters is checked
against its own numbers.
"""

from ._catalogue import persistent_alerts
from ._check import EXERCISES, check
from ._copies import build_workshop, convert, make_copies, reset_copy

__all__ = [
    "EXERCISES",
    "check",
    "persistent_alerts",
    "convert",
    "build_workshop",
    "make_copies",
    "reset_copy",
]
