"""Counting where the data lives: the audit's count table from any table narwhals reads.

The audit needs four numbers per group, the confusion counts. For a table in
pandas, Polars (eager or lazy), PyArrow, DuckDB or Spark, :func:`table_counts`
has the engine compute them (one ``group_by`` over cell indicators) and brings
back only the count table, so a decision log of billions of rows is audited
without leaving its warehouse. Each label column is first read as its distinct
values with their counts (one small query), and the checks run on those small
tables with the same code as for arrays, so every engine gives the same answer
or the same message.

:func:`threshold_counts` audits several decision thresholds of a score from one
aggregation: each row's score bin (the number of thresholds its score reaches,
``score >= t`` compared in float64) is found by a binary search written as
nested ``when`` expressions, ``log2(thresholds)`` deep, so neither memory nor the
expression grows with rows x thresholds; rows are counted per group, label and
bin, and each threshold's counts are cumulative sums over bins. (A pandas table is
already in memory: its rows are binned with NumPy, as arrays are.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairaudit._validation import check_label_values, check_labels, group_codes, same
from fairaudit.metrics._rows import (
    CELLS,
    check_thresholds,
    cumulate,
    refuse_missing_scores,
    score_counts,
)

__all__ = ["table_counts", "threshold_counts"]


def lazy_frame(data):
    import narwhals as nw

    try:
        frame = nw.from_native(data)
    except TypeError:
        raise TypeError(
            f"data must be a table narwhals reads (pandas, Polars, PyArrow, DuckDB, Spark, ...), "
            f"got {type(data).__name__}."
        ) from None
    if not isinstance(frame, nw.DataFrame | nw.LazyFrame):
        raise TypeError(f"data must be a table, got a {type(data).__name__} (a single column?).")
    return frame.lazy() if isinstance(frame, nw.DataFrame) else frame


def column_names(frame, sensitive_features, **roles) -> list[str]:
    """The group columns' names, after checking every named column exists."""
    names = [sensitive_features] if isinstance(sensitive_features, str) else sensitive_features
    if (
        not isinstance(names, list | tuple)
        or not names
        or not all(isinstance(n, str) for n in names)
    ):
        raise TypeError(
            "With data=, sensitive_features names the group column(s): a string or a list of "
            f"strings, got {sensitive_features!r}."
        )
    for role, value in roles.items():
        if not isinstance(value, str):
            raise TypeError(f"With data=, {role} names a column: a string, got {value!r}.")
    present = frame.collect_schema().names()
    missing = [c for c in [*roles.values(), *names] if c not in present]
    if missing:
        raise ValueError(f"data has no column(s) {missing}; its columns are {present}.")
    return list(names)


def collect(frame) -> pd.DataFrame:
    return frame.collect().to_pandas()


def label_values(frame, column, role) -> list:
    """The distinct labels of a column (one small query); missing labels are refused."""
    import narwhals as nw

    counted = collect(frame.select(nw.col(column).alias("v")).group_by("v").agg(nw.len()))
    missing = counted["v"].isna().to_numpy()
    n = counted["len"].to_numpy()
    return check_label_values(role, counted["v"][~missing].tolist(), int(n[missing].sum()))


def check_scores(frame, column) -> None:
    """Refuse a score column that is not numeric or has missing values (null or NaN)."""
    import narwhals as nw

    dtype = frame.collect_schema()[column]
    if not dtype.is_numeric():
        raise TypeError(f"y_score must hold numbers (scores), got a column of {dtype}.")
    score = nw.col(column).cast(nw.Float64)
    missing = collect(
        frame.select((score.is_null() | score.is_nan()).cast(nw.Int64).sum().alias("n"))
    )
    refuse_missing_scores(int(missing["n"].iloc[0] or 0))


def grouped(frame, names, missing_group, values, counted, keys=()):
    """Group by the groups (and ``keys``) in the engine: (group of each row returned, groups,
    the rows returned)."""
    import narwhals as nw

    aliases = [f"group_{i}" for i in range(len(names))]  # never a user's name: no collisions
    schema = frame.collect_schema()
    keep = [frame.implementation.is_pandas_like() or isinstance(schema[n], nw.Enum) for n in names]
    table = collect(
        frame.select(*(nw.col(n).alias(a) for n, a in zip(names, aliases, strict=True)), *values)
        .group_by(*aliases, *keys)
        .agg(*(e.alias(c) for c, e in counted.items()))
        .with_columns(nw.col(c).cast(nw.Int64) for c in counted)  # DuckDB sums are decimals
    )
    rows = table["_n"] if "_n" in table else table[list(CELLS)].sum(axis=1)
    weights = rows.to_numpy(np.int64)
    codes, index = group_codes([table[a] for a in aliases], weights, names, missing_group, keep)
    return codes, index, table


def table_counts(
    data, y_true, y_pred, sensitive_features, *, pos_label=1, favourable_label=None,
    missing_group=None,
) -> pd.DataFrame:  # fmt: skip
    """Confusion counts per group, computed by the engine that holds ``data``.

    Parameters
    ----------
    data : table
        Anything :func:`narwhals.from_native` accepts, eager or lazy.
    y_true, y_pred : str
        The label and decision columns.
    sensitive_features : str or list of str
        The group column(s); several give intersections.
    pos_label, favourable_label, missing_group
        As in :func:`fairaudit.metrics.audit`.

    Returns
    -------
    pandas.DataFrame
        As :func:`fairaudit.metrics.confusion_counts` returns for the same rows.
    """
    import narwhals as nw

    frame = lazy_frame(data)
    names = column_names(frame, sensitive_features, y_true=y_true, y_pred=y_pred)
    labels = check_labels(
        label_values(frame, y_true, "y_true"), label_values(frame, y_pred, "y_pred"),
        pos_label, favourable_label,
    )  # fmt: skip
    known = [v for v in labels if same(v, pos_label)]
    if known:
        t, p = nw.col(y_true) == known[0], nw.col(y_pred) == known[0]
    else:  # 0/1 labels without pos_label: nothing is positive
        t = p = nw.lit(False)
    cells = {"tp": t & p, "fp": ~t & p, "fn": t & ~p, "tn": ~t & ~p}
    codes, index, table = grouped(
        frame, names, missing_group,
        [e.cast(nw.Int64).alias(c) for c, e in cells.items()],
        {c: nw.col(c).sum() for c in CELLS},
    )  # fmt: skip
    out = np.zeros((len(index), 4), dtype=np.int64)
    np.add.at(out, codes, table[list(CELLS)].to_numpy(np.int64))
    return pd.DataFrame(out, index=index, columns=list(CELLS))


def score_bin(score, order, lo=0, hi=None):
    """Number of thresholds in ``order`` (sorted) that ``score`` reaches, as a binary search."""
    import narwhals as nw

    hi = len(order) if hi is None else hi
    if lo == hi:
        return nw.lit(lo, dtype=nw.Int64)
    mid = (lo + hi) // 2
    return (
        nw.when(score >= order[mid])
        .then(score_bin(score, order, mid + 1, hi))
        .otherwise(score_bin(score, order, lo, mid))
    )


def threshold_counts(
    data, y_true, y_score, sensitive_features, thresholds, *, pos_label=1, missing_group=None
) -> dict:
    """Confusion counts per group for each decision threshold, from one aggregation.

    A row is decided positive at threshold ``t`` when its score is at least ``t``
    (both in float64).

    Parameters
    ----------
    data : table
        Anything :func:`narwhals.from_native` accepts.
    y_true, y_score : str
        The label column and the score column (higher means more positive).
    sensitive_features : str or list of str
    thresholds : sequence of float
    pos_label, missing_group
        As in :func:`fairaudit.metrics.audit`.

    Returns
    -------
    dict of float to pandas.DataFrame
        Each threshold's count table, as :func:`table_counts` returns it.
    """
    import narwhals as nw

    cuts = check_thresholds(thresholds)
    order = sorted(set(float(c) for c in cuts))
    frame = lazy_frame(data)
    names = column_names(frame, sensitive_features, y_true=y_true, y_score=y_score)
    if isinstance(data, pd.DataFrame):  # rows already in memory: bin them with NumPy
        return score_counts(data[y_true], data[y_score], data[names], cuts, pos_label=pos_label,
                            missing_group=missing_group)  # fmt: skip
    labels = check_labels(label_values(frame, y_true, "y_true"), [], pos_label, None)
    check_scores(frame, y_score)
    known = [v for v in labels if same(v, pos_label)]
    positive = (nw.col(y_true) == known[0]) if known else nw.lit(False)
    codes, index, table = grouped(
        frame, names, missing_group,
        [positive.cast(nw.Int64).alias("_pos"),
         score_bin(nw.col(y_score).cast(nw.Float64), order).alias("_bin")],
        {"_n": nw.len()}, keys=("_pos", "_bin"),
    )  # fmt: skip
    by_bin = np.zeros((len(index), 2, len(order) + 1), dtype=np.int64)
    np.add.at(by_bin, (codes, table["_pos"].to_numpy(int), table["_bin"].to_numpy(int)),
              table["_n"].to_numpy(np.int64))  # fmt: skip
    return cumulate(by_bin, order, index, cuts)
