"""The rules in braces that end a parameter's comment, and the check a notebook calls.

A rule is a Python comparison over parameter names and literals, such as
``{0 < drift_day < days}`` or ``{0 < sample_fraction ≤ 1}``. ``≤``, ``≥`` and
``≠`` stand for ``<=``, ``>=`` and ``!=``: they keep a second ``=`` off the
line, which would make papermill skip the parameter. A rule is evaluated by a
small interpreter, never by :func:`eval`: comparisons, ``and``/``or``/``not``,
``+ - * /``, ``len()``, ``set()``, ``min()``, ``max()``, literals and the names
of declared parameters; anything else is refused when the rule is read.
:func:`check_rules` is what ``fairaudit run`` calls before a kernel starts;
:func:`check_parameters` is what the notebook calls right after its
``parameters`` cell, so a run in JupyterLab is refused with the same words.
"""

from __future__ import annotations

import ast
import math
import operator
import os
from pathlib import Path

from fairaudit._io import UnsafeTargetError, check_run_target
from fairaudit.cli._parameters import (
    OUTPUT_PARAMETER,
    Parameter,
    ParameterError,
    notebook_parameters,
    parse_value,
)
from fairaudit.cli._studies import STUDIES, closest

__all__ = ["check_parameters", "check_rules", "parse_rule"]


_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_ARITHMETIC[ast.Div] = operator.truediv
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
# A rule may write ≤ ≥ ≠ (papermill ignores a parameter whose line holds a second "=").
_MATH = str.maketrans({"≤": "<=", "≥": ">=", "≠": "!="})
_FUNCTIONS = {"len": len, "set": set, "min": min, "max": max}


def parse_rule(rule: str, names) -> ast.Expression:
    """Parse a parameter's rule, accepting only what :func:`check_rules` can evaluate.

    Raises
    ------
    ParameterError
        If the rule is not valid Python or uses anything but comparisons,
        ``and``/``or``/``not``, ``+ - * /``, ``len()``/``set()``/``min()``/``max()``, literals and
        the names in ``names``.
    """
    try:
        tree = ast.parse(rule.translate(_MATH), mode="eval")
    except SyntaxError:
        raise ParameterError(f"The rule {{{rule}}} is not a valid Python expression.") from None
    allowed = (
        ast.Expression, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.BinOp,
        ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Load, ast.Call, ast.Name,
        *_COMPARE, *_ARITHMETIC, *_UNARY,
    )  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ParameterError(
                f"The rule {{{rule}}} uses {type(node).__name__}, which rules cannot use."
            )
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords
        ):
            raise ParameterError(f"The rule {{{rule}}} may call only {', '.join(_FUNCTIONS)}.")
        if isinstance(node, ast.Name) and node.id not in names and node.id not in _FUNCTIONS:
            raise ParameterError(f"The rule {{{rule}}} names {node.id!r}, which is no parameter.")
    return tree


def _evaluate(node, values):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(e, values) for e in node.elts]
    if isinstance(node, ast.Set):
        return {_evaluate(e, values) for e in node.elts}
    if isinstance(node, ast.Call):
        return _FUNCTIONS[node.func.id](*(_evaluate(a, values) for a in node.args))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        return _ARITHMETIC[type(node.op)](left, right)
    if isinstance(node, ast.BoolOp):
        results = (_evaluate(v, values) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    left = _evaluate(node.left, values)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = _evaluate(comparator, values)
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True


def _holds(tree, values) -> bool:
    """Whether a rule holds; a value the rule cannot even compare (or NaN) breaks it."""
    if any(isinstance(v, float) and math.isnan(v) for v in values.values()):
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        if any(isinstance(values.get(n), float) and math.isnan(values[n]) for n in names):
            return False
    try:
        return bool(_evaluate(tree, values))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return False


def check_rules(declared: dict[str, Parameter], given: dict | None = None) -> list[str]:
    """The rules of ``declared`` that the values break, one line each (empty: all hold).

    Parameters
    ----------
    declared : dict
        From :func:`notebook_parameters`.
    given : dict, optional
        Typed values; the notebook's defaults fill the rest.

    Returns
    -------
    list of str
        For each broken rule: the parameter, its value, the rule (with the
        values of the other parameters it names) and what to pass instead.
    """
    values = {n: p.default for n, p in declared.items() if p.has_literal_default}
    values.update(given or {})
    problems = []
    for name, param in declared.items():
        if not param.rule:
            continue
        tree = parse_rule(param.rule, declared)
        if _holds(tree, values):
            continue
        others = sorted(
            {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in declared} - {name}
        )
        context = "".join(f", {o} = {values.get(o)!r}" for o in others)
        problems.append(
            f"Parameter {name!r} = {values.get(name)!r} breaks its rule {{{param.rule}}}"
            f"{context}; pass a value that satisfies it (the default is {param.source})."
        )
    return problems


def _notebook_path(study: str | os.PathLike) -> Path:
    if isinstance(study, str) and study in STUDIES:
        return STUDIES[study].notebook_path
    path = Path(study)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    hint = closest(str(study), STUDIES)
    raise ParameterError(
        f"{study!r} is neither a case study nor a notebook file"
        + (f"; did you mean {hint!r}?" if hint else f"; case studies: {', '.join(STUDIES)}.")
    )


def check_parameters(study: str | os.PathLike, namespace: dict) -> dict:
    """Check a notebook's parameters from inside it; return them for the run's record.

    The cell after ``parameters`` calls ``params = check_parameters("credit-loan",
    globals())``: the values now in the namespace (defaults, or what papermill
    or a person in JupyterLab set) are checked against the types and rules
    declared in the study's ``parameters`` cell, the same checks ``fairaudit
    run`` makes before a kernel starts.

    Parameters
    ----------
    study : str or path
        A registered case study's name, or the path of a notebook.
    namespace : dict
        Where the parameters live (the notebook's ``globals()``).

    Returns
    -------
    dict
        ``{name: value}`` of every declared parameter, in declaration order,
        with values converted to the declared type (an int where a float is
        declared becomes a float).

    Raises
    ------
    ParameterError
        One line per problem: a parameter not set, a value of the wrong type
        or a broken rule, naming the value and what to pass instead.
    """
    declared = notebook_parameters(_notebook_path(study), use_papermill=False)
    values, problems = {}, []
    for name, param in declared.items():
        if name not in namespace:
            problems.append(f"Parameter {name!r} is not set; run the parameters cell first.")
            continue
        try:
            values[name] = parse_value(param, namespace[name], from_text=False, origin="")
        except ParameterError as exc:
            problems.append(str(exc))
    if not problems:
        problems = check_rules(declared, values)
    if not problems and isinstance(values.get(OUTPUT_PARAMETER), str):
        try:  # the folder the run will replace, refused now rather than after the work
            check_run_target(values[OUTPUT_PARAMETER])
        except UnsafeTargetError as exc:
            problems.append(f"Parameter {OUTPUT_PARAMETER!r}: {exc}")
    if problems:
        raise ParameterError("\n".join(problems))
    return values
