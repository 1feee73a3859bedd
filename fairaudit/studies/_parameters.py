"""A study's parameters, declared once in Python: default, description and rule in words.

The default fixes a parameter's type; each rule both tests a value and says
itself in words ("one or more of: sex, race", "more than 0 and at most 1"),
so ``fairaudit params``, the notebook's ``parameters`` cell, papermill's
``--help-notebook`` and every refusal read the same sentence. Plain Python,
no pandas: the command imports this to answer at once.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

__all__ = ["Parameter", "Rule", "between", "check_rules", "check_types", "convert", "declare",
           "each", "iso_date", "memory_budget", "one_of", "parameters_cell", "shown", "some_of",
           "type_name"]  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """A condition on a value, with its words (read after "must be").

    ``holds(value, values)`` sees every parameter's value; ``names`` lists the
    other parameters it reads, whose values a refusal quotes; ``why(value,
    values)`` may add a sentence (an estimate, the valid values).
    """

    words: str
    holds: Callable[[object, Mapping], bool]
    names: tuple[str, ...] = ()
    why: Callable[[object, Mapping], str] | None = None


@dataclass(frozen=True)
class Parameter:
    """One parameter: name, default (which fixes the type), one-line description, rules."""

    name: str
    default: object
    help: str
    rules: tuple[Rule, ...] = ()

    @property
    def comment(self) -> str:
        """The comment of its line in the ``parameters`` cell: description, then the rule."""
        return "; ".join([self.help, *(r.words for r in self.rules)])


def declare(*parameters: Parameter) -> dict[str, Parameter]:
    """A study's parameters by name, in the order of its ``parameters`` cell."""
    return {p.name: p for p in parameters}


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def between(low=None, high=None, *, low_open=False, high_open=False) -> Rule:
    """A number within bounds; a bound may name another parameter (``high="days"``)."""
    parts, names = [], tuple(b for b in (low, high) if isinstance(b, str))
    lo, hi = (f"{b:,}" if isinstance(b, int) else str(b) for b in (low, high))
    if low is not None:
        parts.append(f"more than {lo}" if low_open else f"at least {lo}")
    if high is not None:
        parts.append(f"less than {hi}" if high_open else f"at most {hi}")
    words = f"{lo} or more" if high is None and not low_open else " and ".join(parts)

    def holds(value, values):
        lo, hi = (values.get(b) if isinstance(b, str) else b for b in (low, high))
        if (
            not _number(value)
            or math.isnan(value)
            or any(b is not None and not _number(b) for b in (lo, hi))
        ):
            return False
        above = lo is None or (value > lo if low_open else value >= lo)
        return above and (hi is None or (value < hi if high_open else value <= hi))

    return Rule(words, holds, names)


def one_of(*choices) -> Rule:
    """One of a few values."""
    return Rule(f"one of: {', '.join(map(str, choices))}", lambda value, values: value in choices)


def some_of(*choices) -> Rule:
    """A non-empty list of distinct values, each one of ``choices``."""
    return Rule(
        f"one or more of: {', '.join(map(str, choices))}",
        lambda value, values: _distinct(value) and all(v in choices for v in value),
    )


def _distinct(value) -> bool:
    return isinstance(value, list) and 0 < len(value) == len({repr(v) for v in value})


def each(rule: Rule) -> Rule:
    """A non-empty list whose every element satisfies ``rule``."""
    return Rule(
        f"one or more numbers, each {rule.words}",
        lambda value, values: (
            isinstance(value, list) and len(value) > 0 and all(rule.holds(v, values) for v in value)
        ),
        rule.names,
    )


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(first: str = "1970-01-01", last: str = "2199-12-31") -> Rule:
    """A calendar date written ``YYYY-MM-DD`` (no time, no time zone) within a range."""

    def holds(value, values):
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            return False
        try:
            return first <= date.fromisoformat(value).isoformat() <= last
        except ValueError:
            return False

    return Rule(f"a date written YYYY-MM-DD, from {first} to {last}", holds)


def memory_budget() -> int:
    """Half of this machine's memory in bytes (8 GB where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, ValueError, OSError):
        return 8 * 10**9


def type_name(param: Parameter) -> str:
    """``int``, ``float``, ``str``, ``bool`` or ``list``: the type of the default."""
    return type(param.default).__name__


def _convert(kind: type, value):
    """``value`` as ``kind`` (an int is a float where a float is declared), or ``ValueError``."""
    if kind is float and _number(value):
        return float(value)
    if type(value) is kind or (
        kind is int and isinstance(value, int) and not isinstance(value, bool)
    ):
        return value
    raise ValueError(value)


def convert(param: Parameter, value):
    """``value`` as ``param`` takes it: the default's type (list elements: its elements' type).

    Raises
    ------
    ValueError
        If it is not of that type.
    """
    kind = type(param.default)
    if kind is not list:
        return _convert(kind, value)
    if not isinstance(value, list | tuple):
        raise ValueError(value)
    kinds = {type(v) for v in param.default}
    element = float if float in kinds else kinds.pop() if len(kinds) == 1 else None
    return [v if element is None else _convert(element, v) for v in value]


def shown(value) -> str:
    """``repr`` of a value, cut to 60 characters (a 5,000-digit number included)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for Python to print
        return f"an integer of about {int(value.bit_length() * 0.30103):,} digits"
    return text if len(text) <= 60 else text[:57] + "..."


def _source(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_source(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:_}"
    return repr(value)


def check_types(declared: Mapping[str, Parameter], values: Mapping) -> tuple[dict, list[str]]:
    """The values converted to each parameter's type, and one line per value that is not."""
    typed, problems = {}, []
    for name, value in values.items():
        param = declared[name]
        try:
            typed[name] = convert(param, value)
        except (ValueError, TypeError):
            kind = type_name(param)
            article = "an" if kind[0] in "aeiou" else "a"
            problems.append(
                f"Parameter {name!r} takes {article} {kind} like {_source(param.default)} (its "
                f"default); got {shown(value)}."
            )
    return typed, problems


def check_rules(declared: Mapping[str, Parameter], values: Mapping) -> list[str]:
    """One line per rule a value breaks (``values`` complete and typed), saying what to pass."""
    problems = []
    for name, param in declared.items():
        for rule in param.rules:
            value = values[name]
            if rule.holds(value, values):
                continue
            context = ", ".join(f"{n} = {shown(values[n])}" for n in rule.names if n != name)
            extra = rule.why(value, values) if rule.why else ""
            problems.append(
                f"Parameter {name!r} = {shown(value)} must be {rule.words}"
                + (f" ({context})" if context else "")
                + (f"; {extra}" if extra else "")
                + f"; the default is {_source(param.default)}."
            )
            break
    return problems


def parameters_cell(declared: Mapping[str, Parameter]) -> str:
    """The source of the notebook's ``parameters`` cell: one line per parameter.

    ``name: type = default  # description; rule``, which papermill reads too.
    """
    return "\n".join(
        f"{p.name}: {type_name(p)} = {_source(p.default)}  # {p.comment}" for p in declared.values()
    )
