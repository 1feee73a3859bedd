"""A fairness gate: the checks a model must pass before it ships.

A release pipeline turns an audit into a decision. The gate compares three
headline numbers of a group audit (:func:`fairaudit.metrics.audit`) with
thresholds a team agreed on *before* looking at the model:

* **demographic parity difference** (largest gap in selection rates between
  groups) at most ``dpd_max``: allocation harm, one group receiving the
  favourable decision less often;
* **equalized odds difference** (larger of the gaps in true- and
  false-positive rates) at most ``eod_max``: quality-of-service harm, the
  model erring more for one group;
* **disparate impact** (smallest ratio of a group's favourable rate to the
  reference group's) at least ``di_min``, the four-fifths rule of US
  employment guidance when ``di_min=0.8``.

The result is a tidy table, one row per check, with the value, the threshold
and the verdict, so that a notebook can state plainly which checks pass and a
pipeline can stop on a failure. Each row also carries the bootstrap confidence
interval of the value and whether the verdict is *conclusive*: the whole
interval lies on one side of the threshold. A pass that is not conclusive
means the data cannot rule out a failure (and vice versa); with small groups
that is the usual case and worth saying.

Thresholds are policy, not statistics: the defaults (0.1, 0.1, 0.8) are common
starting points, not a standard, and passing the gate does not make a system
fair. It only means these three numbers are within the bounds agreed on.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fairaudit.metrics import combine_verdicts, interval_verdict

__all__ = ["CHECKS", "check_verdicts", "fairness_gate", "gate_passes", "gate_verdict"]

#: Check name -> (readable description, comparison) in the gate's order.
CHECKS = {
    "demographic_parity_difference": ("largest gap in selection rates", "<="),
    "equalized_odds_difference": ("larger of the TPR and FPR gaps", "<="),
    "disparate_impact": ("smallest favourable-rate ratio to the reference group", ">="),
}

_COLUMNS = [
    "description",
    "value",
    "ci_low",
    "ci_high",
    "rule",
    "threshold",
    "passed",
    "conclusive",
    "blocking",
]


def fairness_gate(
    result,
    *,
    dpd_max: float = 0.1,
    eod_max: float = 0.1,
    di_min: float = 0.8,
    blocking=None,
) -> pd.DataFrame:
    """Check an audit against the gate's thresholds.

    Parameters
    ----------
    result : AuditResult, mapping, or dict of str to either
        An :class:`fairaudit.metrics.AuditResult` (values and confidence
        intervals are read from it), or a mapping with the keys
        ``demographic_parity_difference``, ``equalized_odds_difference`` and
        ``disparate_impact`` such as ``AuditResult.summary()`` (no intervals).
        A dict of them, keyed by a label such as the sensitive feature's name,
        gates each and stacks the tables (the label becomes the first index
        level, named ``"audit"``).
    dpd_max : float, default=0.1
        Largest acceptable demographic parity difference, in [0, 1].
    eod_max : float, default=0.1
        Largest acceptable equalized odds difference, in [0, 1].
    di_min : float, default=0.8
        Smallest acceptable disparate impact, in (0, 1].
    blocking : iterable of str, optional
        The checks that block a release (names in :data:`CHECKS`); the others
        are reported only. Default: all three. Tie the blocking checks to the
        harm: when qualified people being turned away is the harm, the
        equalized-odds check blocks and the selection-rate checks inform.

    Returns
    -------
    pandas.DataFrame
        Indexed by check (see :data:`CHECKS`), columns ``description, value,
        ci_low, ci_high, rule, threshold, passed, conclusive, blocking``. A check whose
        value is undefined (NaN) fails: the gate cannot vouch for what it
        cannot measure.

    Notes
    -----
    The equalized-odds interval is that of whichever rate gap (true- or
    false-positive) is the larger point estimate, not an interval for the
    maximum itself; the disparate-impact interval is that of the group with
    the smallest ratio.

    Examples
    --------
    >>> table = fairness_gate({"demographic_parity_difference": 0.05,
    ...                        "equalized_odds_difference": 0.2,
    ...                        "disparate_impact": 0.9})
    >>> table["passed"].tolist()
    [True, False, True]
    """
    thresholds = {
        "demographic_parity_difference": _check_threshold(dpd_max, "dpd_max", 0.0, 1.0),
        "equalized_odds_difference": _check_threshold(eod_max, "eod_max", 0.0, 1.0),
        "disparate_impact": _check_threshold(di_min, "di_min", 0.0, 1.0, open_low=True),
    }
    blocking = list(CHECKS) if blocking is None else list(blocking)
    unknown = [b for b in blocking if b not in CHECKS]
    if unknown or not blocking:
        raise ValueError(
            f"blocking must name at least one of the checks {list(CHECKS)}, got {blocking!r}."
        )
    if isinstance(result, Mapping) and not _is_summary(result):
        if not result:
            raise ValueError("result is an empty dict; pass at least one audit to gate.")
        tables = {
            str(label): fairness_gate(
                r, dpd_max=dpd_max, eod_max=eod_max, di_min=di_min, blocking=blocking
            )
            for label, r in result.items()
        }
        return pd.concat(tables, names=["audit", "check"])
    values = _values_with_intervals(result)
    rows = []
    for check, (description, rule) in CHECKS.items():
        value, low, high = values[check]
        limit = thresholds[check]
        if rule == "<=":
            passed = value <= limit
            conclusive = (high <= limit) if passed else (low > limit)
        else:
            passed = value >= limit
            conclusive = (low >= limit) if passed else (high < limit)
        rows.append(
            {
                "check": check,
                "description": description,
                "value": value,
                "ci_low": low,
                "ci_high": high,
                "rule": rule,
                "threshold": limit,
                "passed": bool(passed) and not np.isnan(value),
                "conclusive": bool(conclusive),
                "blocking": check in blocking,
            }
        )
    return pd.DataFrame(rows).set_index("check")[_COLUMNS]


def gate_passes(table: pd.DataFrame) -> bool:
    """Whether every blocking check of a :func:`fairness_gate` table passed.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`fairness_gate`, or the rows of one audit in it.

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        If ``table`` has no ``passed`` column.
    ValueError
        If it is empty.
    """
    if not isinstance(table, pd.DataFrame) or "passed" not in table.columns:
        raise TypeError("Pass the table returned by fairness_gate (it has a 'passed' column).")
    if table.empty:
        raise ValueError("The gate table is empty; there is nothing to pass.")
    return bool(_blocking_rows(table)["passed"].all())


def check_verdicts(table: pd.DataFrame) -> pd.Series:
    """Each check's verdict from its interval: ``passes``, ``fails`` or ``inconclusive``.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`fairness_gate`, or the rows of one audit in it.

    Returns
    -------
    pandas.Series of str
        Indexed like ``table``; without an interval the point estimate decides.
    """
    return pd.Series(
        [
            interval_verdict(r.value, r.ci_low, r.ci_high, r.threshold, at_most=r.rule == "<=")
            for r in table.itertuples()
        ],
        index=table.index,
        name="verdict",
    )


def gate_verdict(table: pd.DataFrame) -> str:
    """The gate's verdict over its blocking checks, from their intervals.

    ``fails`` if a blocking check's interval lies wholly on the wrong side of
    its threshold, ``passes`` if every blocking interval lies on the right side,
    ``inconclusive`` otherwise. :func:`gate_passes` is the point-estimate version.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`fairness_gate`, or the rows of one audit in it.

    Returns
    -------
    str
    """
    return combine_verdicts(check_verdicts(_blocking_rows(table)))


def _blocking_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a gate table that decide a release (all, without a ``blocking`` column)."""
    return table[table["blocking"].astype(bool)] if "blocking" in table.columns else table


def _is_summary(mapping: Mapping) -> bool:
    return any(key in mapping for key in CHECKS)


def _values_with_intervals(result) -> dict[str, tuple[float, float, float]]:
    nan = float("nan")
    if isinstance(result, Mapping):
        missing = [k for k in CHECKS if k not in result]
        if missing:
            raise ValueError(
                f"The summary lacks {missing}; pass an AuditResult or AuditResult.summary()."
            )
        return {k: (_float(result[k], k), nan, nan) for k in CHECKS}
    if not all(hasattr(result, a) for a in ("summary", "difference", "disparate_impact")):
        raise TypeError(
            f"result must be an AuditResult, its summary() dict, or a dict of them; got "
            f"{type(result).__name__}."
        )
    summary = result.summary()
    diff = result.difference(["selection_rate", "true_positive_rate", "false_positive_rate"])
    out = {
        "demographic_parity_difference": _row(diff, "selection_rate"),
    }
    eo_rows = diff.loc[["true_positive_rate", "false_positive_rate"]]
    if eo_rows["value"].notna().any():
        out["equalized_odds_difference"] = _row(eo_rows, eo_rows["value"].idxmax())
    else:
        out["equalized_odds_difference"] = (nan, nan, nan)
    di = result.disparate_impact
    ratios = di["disparate_impact"].astype(float)
    if ratios.notna().any():
        worst = ratios.idxmin()
        out["disparate_impact"] = (
            float(ratios.loc[worst]),
            float(di.loc[worst, "ci_low"]),
            float(di.loc[worst, "ci_high"]),
        )
    else:
        value = _float(summary["disparate_impact"], "disparate_impact")
        out["disparate_impact"] = (value, nan, nan)
    return out


def _row(frame: pd.DataFrame, label) -> tuple[float, float, float]:
    return tuple(float(frame.loc[label, c]) for c in ("value", "ci_low", "ci_high"))


def _float(value, name) -> float:
    if value is None:
        return float("nan")
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    return float(value)


def _check_threshold(value, name, low, high, *, open_low=False) -> float:
    bad = not isinstance(value, numbers.Real) or isinstance(value, bool) or np.isnan(value)
    if not bad:
        bad = value > high or (value <= low if open_low else value < low)
    if bad:
        interval = f"({low:g}, {high:g}]" if open_low else f"[{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}.")
    return float(value)
