"""The ``check`` function, the registry of exercises, and the checks every answer passes first.

A study registers each exercise with :func:`exercise` (in ``fairaudit/studies/<study>.py``):
the notebook variable that holds the answer, the kind of answer, and the task in words.
``check`` refuses an answer of the wrong shape with its own message (a list where one number
is asked, text in quotes, ``True``, a fraction for a count) before the study's judge sees it.
A judge returns a :class:`Verdict`; :func:`judge_number` makes one for a number.
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass

CORRECT = "Correct"
NOT_YET = "Not yet"
#: The kinds of answer, each with what the attendee is asked to store.
KINDS = {
    "share": "one number between 0 and 1",
    "ratio": "one number",
    "count": "one whole number",
    "group": "one group's name, as text",
    "names": "a list of names, as text",
}
#: The studies whose modules register exercises (``fairaudit.studies.<module>``).
STUDY_MODULES = ("credit_loan", "adult_income", "fairness_monitoring")
#: How far a value may be from the exact one and still be "read off a table with 3 decimals".
TABLE_PRECISION = 5e-4


@dataclass(frozen=True)
class Exercise:
    """One exercise: its judge, the variable that holds the answer, the kind of answer, the task."""

    name: str
    judge: Callable[..., Verdict]
    answer: str
    kind: str
    task: str

    @property
    def start(self) -> str:
        """The nudge for an answer still left at ``None``: the task and the real variable."""
        return f"{self.task}, and store it in `{self.answer}`."


@dataclass(frozen=True)
class Verdict:
    """A judge's answer: right or not, and what to say (a nudge, or a note on a right answer)."""

    correct: bool
    message: str = ""
    slip: bool = False  # the message names a known slip (not the general hint)


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, *, answer: str, kind: str, task: str):
    """Register ``judge(value, **evidence) -> Verdict`` as exercise ``name``.

    ``answer`` is the notebook's variable, ``kind`` one of :data:`KINDS`, ``task`` what to
    do, as the first nudge says it ("compute ..."; the variable is added).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")

    def register(judge):
        EXERCISES[name] = Exercise(name, judge, answer, kind, task)
        return judge

    return register


def registered() -> dict[str, Exercise]:
    """Every exercise of every study (importing the studies that declare them)."""
    for module in STUDY_MODULES:
        importlib.import_module(f"fairaudit.studies.{module}")
    return dict(EXERCISES)


def _find(name: str) -> Exercise | None:
    if name not in EXERCISES and "/" in name:
        module = name.split("/")[0].replace("-", "_")
        if module in STUDY_MODULES:
            importlib.import_module(f"fairaudit.studies.{module}")
    return EXERCISES.get(name)


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
        Prints ``Correct`` (with a note when the answer is right but rounded), or
        ``Not yet: <nudge>``.
    """
    found = _find(name) if isinstance(name, str) else None
    if found is None:
        known = ", ".join(sorted(registered()))
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
        print(f"{NOT_YET}: there is no exercise {shown}; known: {known}.")
        return
    if answer is None:
        print(f"{NOT_YET}: {found.start}")
        return
    try:
        value = as_answer(answer, found.kind, found.answer)
        verdict = found.judge(value, **evidence)
    except AnswerError as exc:
        verdict = Verdict(False, str(exc))
    except Exception as exc:  # feedback, not a stopped Run All
        verdict = Verdict(False, f"this answer could not be checked ({type(exc).__name__}: {exc}).")
    else:
        if (
            found.kind == "share"
            and not verdict.correct
            and not verdict.slip
            and not 0 <= value <= 1
        ):
            verdict = Verdict(False, _out_of_range(value, found.answer))
    if verdict.correct:
        print(CORRECT + (f" ({verdict.message})" if verdict.message else ""))
    else:
        print(f"{NOT_YET}: {verdict.message}")


class AnswerError(ValueError):
    """An answer of the wrong shape; the message says what to store instead."""


def _is_bool(answer) -> bool:
    return type(answer).__name__ in ("bool", "bool_")  # Python's and NumPy's


def _size(answer) -> int | None:
    """How many values a container holds (None for a scalar)."""
    if isinstance(answer, str | bytes):
        return None
    shape = getattr(answer, "shape", None)
    if shape is not None:
        return math.prod(shape) if shape else None
    if isinstance(answer, Mapping | list | tuple | set | frozenset):
        return len(answer)
    return None


def _one_number(answer, kind: str, variable: str) -> float:
    what = KINDS[kind]
    if _is_bool(answer):
        raise AnswerError(
            f"`{variable}` holds {bool(answer)}, a yes/no value; the question asks for {what}."
        )
    if isinstance(answer, str):
        try:
            float(answer.strip().rstrip("%"))
        except ValueError:
            raise AnswerError(
                f"`{variable}` holds the text {answer!r}; store {what}, without quotes."
            ) from None
        raise AnswerError(
            f"`{variable}` holds the text {answer!r}: remove the quotes, so that it is a number."
        )
    size = _size(answer)
    kind_of = type(answer).__name__
    if size is not None and (size != 1 or not hasattr(answer, "dtype")):
        raise AnswerError(
            f"`{variable}` holds a {kind_of} of {size} value(s); store one number: pick the one "
            "the question asks for (e.g. with .loc[...] or .iloc[0])."
        )
    if hasattr(answer, "item"):
        answer = answer.item()
    if _is_bool(answer) or not isinstance(answer, numbers.Real):
        raise AnswerError(f"`{variable}` holds a {kind_of}; store {what}.")
    value = float(answer)
    if not math.isfinite(value):
        raise AnswerError(
            f"`{variable}` is {value}, not a number one can compare: a rate whose denominator "
            "is 0 is undefined, so check what you divided by."
        )
    if kind == "count" and value != int(value):
        raise AnswerError(f"`{variable}` is {value:g}, but a count is a whole number.")
    if kind == "count" and value < 0:
        raise AnswerError(f"`{variable}` is {value:g}, but a count cannot be negative.")
    return value


def _out_of_range(value, variable: str) -> str:
    percent = " (as a percentage? 25 % is 0.25)" if 1 < value <= 100 else ""
    return f"`{variable}` is {value:g}, but a share lies between 0 and 1{percent}."


def as_answer(answer, kind: str, variable: str = "answer"):
    """The answer in the form the judge compares: a float, a name, or a set of names.

    Raises
    ------
    AnswerError
        For an answer of the wrong shape, saying what to store instead.
    """
    if kind == "group":
        if isinstance(answer, tuple):
            answer = ", ".join(map(str, answer))
        if not isinstance(answer, str):
            raise AnswerError(
                f"`{variable}` holds a {type(answer).__name__}; store one group's name as text "
                "(in quotes), as the audit's index shows it."
            )
        return label(answer)
    if kind == "names":
        if isinstance(answer, str):
            answer = answer.split(",")
        if _size(answer) is None or isinstance(answer, Mapping):
            raise AnswerError(
                f"`{variable}` holds a {type(answer).__name__}; store the names as a list of "
                'text, e.g. ["demographic_parity_difference"].'
            )
        return {label(a).replace("_", " ") for a in answer if str(a).strip()}
    return _one_number(answer, kind, variable)


def label(answer) -> str:
    """A group or word answer, compared without case or surrounding space."""
    if isinstance(answer, tuple):
        from fairaudit._validation import group_key  # numpy and pandas only when needed

        answer = group_key(answer)
    return str(answer).strip().casefold()


def close(a: float, b: float, tol: float = TABLE_PRECISION) -> bool:
    """Whether two numbers agree to ``tol`` (absolute): a value read off a table passes."""
    return bool(abs(a - b) <= tol + 1e-12)


def printed_range(func, values, step: float) -> tuple[float, float]:
    """The lowest and highest ``func(*v)`` over values as printed, each within ``step / 2``.

    For a ratio of two shares printed as percentages with one decimal (10.9 % and 30.4 %),
    ``step`` is 0.001; ``func`` must be monotone in each value (ratios, differences).
    """
    corners = [[]]
    for v in values:
        corners = [c + [v + d] for c in corners for d in (-step / 2, step / 2)]
    results = [func(*c) for c in corners]
    return min(results), max(results)


def judge_number(value, expected, *, slips=(), otherwise: str, within=None) -> Verdict:
    """Compare a number with the expected one, then with known slips, each with its nudge.

    ``within`` is the range of values computed from numbers as the notebook printed them
    (:func:`printed_range`); by default a value read off a table with 3 decimals passes.
    An answer that is right but not exact is accepted with a note that says so.
    """
    expected = float(expected)
    if math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12):
        return Verdict(True)
    low, high = within or (expected - TABLE_PRECISION, expected + TABLE_PRECISION)
    if low - 1e-12 <= value <= high + 1e-12:
        return Verdict(
            True, f"rounded, as the numbers shown are; the exact value is {expected:.4f}"
        )
    for wrong, nudge in slips:
        if wrong is not None and math.isfinite(wrong) and close(value, wrong):
            return Verdict(False, nudge, slip=True)
    return Verdict(False, otherwise)
