"""Counting where the data lives: the audit's count table from any table narwhals reads.

The audit needs four numbers per group, the confusion counts. For a table in
pandas, Polars (eager or lazy), PyArrow, DuckDB or Spark, :func:`table_counts`
has the engine compute them (one ``group_by`` over cell indicators) and brings
back only the count table, so a decision log of billions of rows is audited
without leaving its warehouse. Labels are checked with two small queries
(distinct values, missing values) before the counting one.

:func:`threshold_counts` audits several decision thresholds of a score from one
aggregation: rows are counted per group, label and score bin (the number of
thresholds the score reaches), and each threshold's confusion counts are sums
over bins.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from fairaudit._validation import check_labels, same, union_labels

__all__ = ["table_counts", "threshold_counts"]

_CELLS = ("tp", "fp", "fn", "tn")


def _lazy(data):
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


def _names(sensitive_features) -> list[str]:
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
    return list(names)


def _check_columns(frame, columns) -> None:
    present = frame.collect_schema().names()
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"data has no column(s) {missing}; its columns are {present}.")


def _to_pandas(frame) -> pd.DataFrame:
    return frame.collect().to_pandas()


def _distinct(frame, column) -> list:
    import narwhals as nw

    # a plain aggregate: every engine answers it with a small hash table
    values = _to_pandas(frame.group_by(column).agg(nw.len().alias("_n")))[column]
    if values.isna().any():
        nulls = int(_to_pandas(frame.select(nw.col(column).null_count().alias("n")))["n"][0])
        raise ValueError(
            f"{column} has {nulls} missing value(s); labels must be known for every row: drop or "
            "impute those rows before auditing."
        )
    return [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]


def _group_frame(frame, names, missing_group):
    import narwhals as nw

    nulls = _to_pandas(frame.select(*(nw.col(n).null_count().alias(n) for n in names)))
    missing = {n: int(nulls[n][0]) for n in names if int(nulls[n][0])}
    if missing and missing_group is None:
        name, count = next(iter(missing.items()))
        raise ValueError(
            f"sensitive feature {name!r} has {count} missing value(s). Pass "
            "missing_group='missing' (any label) to audit those rows as a group of their own, "
            "or drop or impute them."
        )
    if missing:
        frame = frame.with_columns(*(nw.col(n).fill_null(missing_group) for n in missing))
    return frame


def _index(table: pd.DataFrame, names) -> pd.Index:
    """Groups in the array path's order: sorted by each column's values."""
    table = table.sort_values(names, kind="stable").reset_index(drop=True)
    if len(names) == 1:
        values = [v.item() if isinstance(v, np.generic) else v for v in table[names[0]]]
        return table, pd.Index(values, name=names[0], tupleize_cols=False)
    return table, pd.MultiIndex.from_frame(table[names])


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

    Raises
    ------
    ValueError, TypeError
        Missing columns, missing labels, labels that are not binary,
        ``pos_label`` not among them, missing group values without ``missing_group``.
    """
    import narwhals as nw

    frame = _lazy(data)
    names = _names(sensitive_features)
    for arg, value in (("y_true", y_true), ("y_pred", y_pred)):
        if not isinstance(value, str):
            raise TypeError(f"With data=, {arg} names a column: a string, got {value!r}.")
    _check_columns(frame, [y_true, y_pred, *names])
    labels_true, labels_pred = _distinct(frame, y_true), _distinct(frame, y_pred)
    labels = union_labels(labels_true, labels_pred)
    check_labels(labels, labels_true, labels_pred, pos_label, favourable_label)
    frame = _group_frame(frame, names, missing_group)
    known = [v for v in labels if same(v, pos_label)]
    if known:
        t, p = nw.col(y_true) == known[0], nw.col(y_pred) == known[0]
    else:  # a numeric pos_label that did not occur: nothing is positive
        t = p = nw.lit(False)
    cells = {"tp": t & p, "fp": ~t & p, "fn": t & ~p, "tn": ~t & ~p}
    counted = (
        frame.select(*names, *(e.cast(nw.Int64).alias(c) for c, e in cells.items()))
        .group_by(*names)
        .agg(*(nw.col(c).sum() for c in _CELLS))  # plain sums: fast on every engine
        .with_columns(*(nw.col(c).cast(nw.Int64) for c in _CELLS))  # DuckDB sums are decimals
    )
    table, index = _index(_to_pandas(counted), names)
    values = table[list(_CELLS)].to_numpy(dtype=np.int64)
    return pd.DataFrame(values, index=index, columns=list(_CELLS))


def threshold_counts(
    data, y_true, y_score, sensitive_features, thresholds, *, pos_label=1, missing_group=None
) -> dict:
    """Confusion counts per group for each decision threshold, from one aggregation.

    A row is decided positive at threshold ``t`` when its score is at least ``t``.

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

    Raises
    ------
    ValueError, TypeError
        As :func:`table_counts`, and for thresholds that are not finite numbers.
    """
    import narwhals as nw

    cuts = list(thresholds) if not isinstance(thresholds, numbers.Real) else [thresholds]
    if not cuts or not all(
        isinstance(c, numbers.Real) and not isinstance(c, bool) and np.isfinite(c) for c in cuts
    ):
        raise ValueError(
            f"thresholds must be finite numbers such as [0.3, 0.5], got {thresholds!r}."
        )
    order = sorted(set(float(c) for c in cuts))
    frame = _lazy(data)
    names = _names(sensitive_features)
    _check_columns(frame, [y_true, y_score, *names])
    labels = _distinct(frame, y_true)
    check_labels(labels, labels, [], pos_label, None)
    frame = _group_frame(frame, names, missing_group)
    known = [v for v in labels if same(v, pos_label)]
    positive = (nw.col(y_true) == known[0]) if known else nw.lit(False)
    reached = nw.sum_horizontal(*((nw.col(y_score) >= c).cast(nw.Int64) for c in order))
    counted = (
        frame.select(*names, positive.cast(nw.Int64).alias("_pos"), reached.alias("_bin"))
        .with_columns(_one=nw.lit(1, dtype=nw.Int64))
        .group_by(*names, "_pos", "_bin")
        .agg(nw.col("_one").sum().alias("_n"))
        .with_columns(nw.col("_n").cast(nw.Int64))
    )
    cells = _to_pandas(counted)
    out = {}
    for k, cut in enumerate(order):
        decided = cells["_bin"].to_numpy() >= k + 1
        pos = cells["_pos"].to_numpy() == 1
        n = cells["_n"].to_numpy()
        parts = cells[names].assign(
            tp=np.where(pos & decided, n, 0), fp=np.where(~pos & decided, n, 0),
            fn=np.where(pos & ~decided, n, 0), tn=np.where(~pos & ~decided, n, 0),
        )  # fmt: skip
        table = parts.groupby(names, sort=False, dropna=False)[list(_CELLS)].sum().reset_index()
        table, index = _index(table, names)
        out[cut] = pd.DataFrame(
            table[list(_CELLS)].to_numpy(dtype=np.int64), index=index, columns=list(_CELLS)
        )
    return {c: out[float(c)] for c in cuts}
