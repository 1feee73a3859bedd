"""How a result is read: verdicts from intervals, and the whole result as JSON."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from fairaudit._io import to_jsonable
from fairaudit._validation import group_key
from fairaudit.metrics._counts import DENOMINATOR_OF, plain


def interval_verdict(value, ci_low, ci_high, bound, *, at_most: bool = True) -> str:
    """``"passes"``, ``"fails"`` or ``"inconclusive"``: a check of an estimate against a bound.

    A check ``value ≤ bound`` (``at_most=True``; ``value ≥ bound`` otherwise)
    passes when the whole interval satisfies it, fails when none of it does, and
    is inconclusive when the interval straddles the bound. Without an interval
    (NaN ends) the point estimate decides.

    Parameters
    ----------
    value, ci_low, ci_high : float
    bound : float
    at_most : bool, default True

    Returns
    -------
    str
    """
    low = value if np.isnan(ci_low) else ci_low
    high = value if np.isnan(ci_high) else ci_high
    if not at_most:
        low, high, bound = -high, -low, -bound
    if high <= bound:
        return "passes"
    if low > bound:
        return "fails"
    return "inconclusive"


def combine_verdicts(verdicts) -> str:
    """One verdict from several checks: fails if any fails, passes if all pass (or there are
    none), inconclusive otherwise."""
    verdicts = set(verdicts)
    if "fails" in verdicts:
        return "fails"
    return "passes" if verdicts <= {"passes"} else "inconclusive"


def check_di_threshold(threshold) -> None:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not 0 < threshold < np.inf
    ):
        raise ValueError(f"threshold must be a positive number such as 0.8, got {threshold!r}.")


def left_out_rows(denominators, metrics, min_denominator):
    """:meth:`AuditResult.left_out`: the rates resting on fewer rows, and why."""
    rows = [
        (m, g, int(n), f"{n} {DENOMINATOR_OF[m]}, fewer than {min_denominator}")
        for m in metrics
        for g, n in denominators[m][denominators[m] < min_denominator].items()
    ]
    return pd.DataFrame(rows, columns=["metric", "group", "denominator", "why"])


def flagged_rates(by_group, small, metrics, digits):
    """:meth:`AuditResult.flagged`: rates as text, ``†`` where their denominator is small."""
    shown = by_group[["count"]].copy()
    for m in metrics:
        values = by_group[m].map(lambda v: "n/a" if pd.isna(v) else f"{v:.{digits}f}")
        shown[m] = values.where(~small[m], values + " †")
    return shown


def label_keys(index) -> list[str]:
    """One distinct string per group label (``repr`` where two keys would be equal)."""
    plain_keys = [group_key(label) for label in index]
    seen = {}
    for key in plain_keys:
        seen[key] = seen.get(key, 0) + 1
    return [
        key if seen[key] == 1 else repr(plain(label))
        for key, label in zip(plain_keys, index, strict=True)
    ]


def frame_json(frame):
    return {
        str(metric): {col: to_jsonable(val) for col, val in row.items()}
        for metric, row in frame.iterrows()
    }


def result_json(result) -> dict:
    """:meth:`AuditResult.to_dict`."""
    overall = {k: to_jsonable(v) for k, v in result.overall.items()}
    overall["count"] = int(result.counts.to_numpy().sum())
    keys = dict(zip(result.by_group.index, label_keys(result.by_group.index), strict=True))
    by_group, di = {}, {}
    for label, row in result.by_group.iterrows():
        record = {"group": to_jsonable(label), **{k: to_jsonable(v) for k, v in row.items()}}
        record.update(count=int(row["count"]), small_group=bool(row["small_group"]))
        by_group[keys[label]] = record
    for label, row in result.disparate_impact.iterrows():
        di[keys[label]] = {"group": to_jsonable(label)}
        di[keys[label]].update({k: to_jsonable(v) for k, v in row.items()})
    return {
        "settings": {k: to_jsonable(v) for k, v in result.settings.items()},
        "overall": overall,
        "by_group": by_group,
        "difference": frame_json(result.difference()),
        "ratio": frame_json(result.ratio()),
        "disparate_impact": {
            "reference_group": to_jsonable(result.reference_group),
            "passes_four_fifths": bool(
                result.disparate_impact["disparate_impact"].dropna().ge(0.8).all()
            ),
            "groups": di,
        },
        "summary": {k: to_jsonable(v) for k, v in result.summary().items()},
    }
