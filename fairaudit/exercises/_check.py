"""The ``check`` function and the registry of exercises."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

CORRECT = "Correct"
NOT_YET = "Not yet"


@dataclass(frozen=True)
class Exercise:
    """One exercise: how to judge an answer, and what to say to an empty one."""

    name: str
    judge: Callable[..., tuple[bool, str]]
    start: str  # the nudge for an answer still left at None


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, *, start: str):
    """Register ``judge(answer, **evidence) -> (correct, nudge)`` under ``name``."""

    def register(judge):
        EXERCISES[name] = Exercise(name, judge, start)
        return judge

    return register


def check(name: str, answer, **evidence) -> None:
    """Print whether ``answer`` solves exercise ``name``; never raises.

    Parameters
    ----------
    name : str
        The exercise, as named in the notebook (e.g. ``"credit-loan/declined-repayers"``).
    answer : object
        The attendee's answer; ``None`` means not answered yet.
    **evidence
        The notebook's own objects the expected answer is computed from.

    Returns
    -------
    None
        Prints ``Correct``, or ``Not yet: <nudge>``.
    """
    found = EXERCISES.get(name)
    if found is None:
        print(f"{NOT_YET}: there is no exercise {name!r}; known: {', '.join(sorted(EXERCISES))}.")
        return
    if answer is None:
        print(f"{NOT_YET}: {found.start}")
        return
    try:
        correct, nudge = found.judge(answer, **evidence)
    except Exception as exc:  # feedback, not a stopped Run All
        correct, nudge = False, f"this answer could not be checked ({type(exc).__name__}: {exc})."
    print(CORRECT if correct else f"{NOT_YET}: {nudge}")


def as_number(answer) -> float:
    """The answer as a float (a NumPy scalar or a one-element array is fine)."""
    value = float(answer.item() if hasattr(answer, "item") else answer)
    if not math.isfinite(value):
        raise ValueError("the answer is not a finite number")
    return value


def close(a: float, b: float, tol: float = 5e-4) -> bool:
    """Whether two numbers agree to ``tol`` (absolute): a value read off a table passes."""
    return bool(abs(a - b) <= tol)


def label(answer) -> str:
    """A group or word answer, compared without case or surrounding space."""
    if isinstance(answer, tuple):
        from fairaudit._validation import group_key  # numpy and pandas only when needed

        answer = group_key(answer)
    return str(answer).strip().casefold()
