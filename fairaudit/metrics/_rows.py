"""Counting in memory: arrays of rows, and count tables given by hand, checked.

:func:`count_rows` codes each row's group and confusion cell and counts the
``(group, cell)`` pairs with one :func:`numpy.bincount`; :func:`score_counts`
does the same per score bin for several thresholds. Both check their inputs with
the rules every engine follows (:mod:`fairaudit._validation`).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from fairaudit._io import to_jsonable
from fairaudit._validation import (
    as_1d,
    check_count,
    check_indexes_agree,
    check_labels,
    check_lengths,
    group_codes,
    positive_mask,
    sensitive_columns,
)
from fairaudit.metrics._counts import COUNT_COLUMNS

COUNT_INDEX = pd.Index(COUNT_COLUMNS, dtype=object)
CELLS = COUNT_COLUMNS


def read_rows(named, sensitive_features):
    """Checked 1-D inputs: (dict of named columns, group columns, group names)."""
    columns, names, feature_indexes = sensitive_columns(sensitive_features)
    arrays, indexes = {}, []
    for name, values in named.items():
        arrays[name], index = as_1d(values, name)
        indexes.append((name, index))
    lengths = {name: len(values) for name, values in arrays.items()}
    for name, col in zip(names, columns, strict=True):
        key = f"sensitive_features[{name!r}]" if len(columns) > 1 else "sensitive_features"
        lengths[key] = len(col)
    check_lengths(lengths)
    check_indexes_agree(indexes + [("sensitive_features", idx) for idx in feature_indexes])
    return arrays, columns, names


def code_rows(columns, names, missing_group):
    """Each row's group number, and the groups, for arrays of group values."""
    coded = [pd.factorize(col, sort=False) for col in columns]  # missing -> -1
    if len(coded) == 1:
        combo, uniques = coded[0]
        levels = [pd.array(uniques)]
        if (combo < 0).any():
            combo = np.where(combo < 0, len(uniques), combo)
            levels = [levels[0].take(np.r_[np.arange(len(uniques)), -1], allow_fill=True)]
    else:
        sizes = [len(uniques) + 1 for _, uniques in coded]
        combined = np.zeros(len(coded[0][0]), dtype=np.int64)
        for (codes, _), size in zip(coded, sizes, strict=True):
            combined = combined * size + codes + 1
        combo, present = pd.factorize(combined, sort=False)
        parts = np.unravel_index(present, sizes)
        levels = [
            pd.array(uniques).take(part - 1, allow_fill=True)
            for (_, uniques), part in zip(coded, parts, strict=True)
        ]
    weights = np.bincount(combo, minlength=len(levels[0]))
    series = [pd.Series(level, copy=False) for level in levels]
    group_of_combo, index = group_codes(series, weights, names, missing_group, [True] * len(names))
    return group_of_combo[combo], index


def count_rows(y_true, y_pred, sensitive_features, pos_label, favourable_label, missing_group):
    arrays, columns, names = read_rows({"y_true": y_true, "y_pred": y_pred}, sensitive_features)
    is_pos_true, labels_true = positive_mask(arrays["y_true"], "y_true")
    is_pos_pred, labels_pred = positive_mask(arrays["y_pred"], "y_pred")
    check_labels(labels_true, labels_pred, pos_label, favourable_label)
    # tp -> 0, fp -> 1, fn -> 2, tn -> 3 (the order of COUNT_COLUMNS)
    cell = 3 - 2 * is_pos_pred(pos_label).astype(np.int8) - is_pos_true(pos_label).astype(np.int8)
    group, index = code_rows(columns, names, missing_group)
    table = np.bincount(group * 4 + cell, minlength=4 * len(index)).reshape(len(index), 4)
    return pd.DataFrame(table.astype(np.int64), index=index, columns=list(COUNT_COLUMNS))


def score_counts(
    y_true, y_score, sensitive_features, thresholds, *, pos_label=1, missing_group=None
) -> dict:
    """:func:`~fairaudit.metrics._tables.threshold_counts` for arrays, in NumPy."""
    cuts = check_thresholds(thresholds)
    order = np.array(sorted(set(float(c) for c in cuts)))
    arrays, columns, names = read_rows({"y_true": y_true, "y_score": y_score}, sensitive_features)
    is_pos, labels = positive_mask(arrays["y_true"], "y_true")
    check_labels(labels, [], pos_label, None)
    score = pd.Series(arrays["y_score"], copy=False)
    if not pd.api.types.is_numeric_dtype(score) or pd.api.types.is_bool_dtype(score):
        raise TypeError(f"y_score must hold numbers (scores), got values of {score.dtype}.")
    score = score.to_numpy(dtype=np.float64, na_value=np.nan)
    refuse_missing_scores(int(np.isnan(score).sum()))
    group, index = code_rows(columns, names, missing_group)
    bins = np.searchsorted(order, score, side="right")  # thresholds t with score >= t
    key = (group * 2 + is_pos(pos_label)) * (len(order) + 1) + bins
    by_bin = np.bincount(key, minlength=len(index) * 2 * (len(order) + 1))
    return cumulate(by_bin.reshape(len(index), 2, -1), order.tolist(), index, cuts)


def refuse_missing_scores(n_missing) -> None:
    if n_missing:
        raise ValueError(
            f"y_score has {n_missing} missing value(s) (null or NaN); a row without a score "
            "cannot be decided at a threshold: drop or impute those rows before auditing."
        )


def check_thresholds(thresholds) -> list[float]:
    cuts = list(thresholds) if not isinstance(thresholds, numbers.Real) else [thresholds]
    if not cuts or not all(
        isinstance(c, numbers.Real) and not isinstance(c, bool) and np.isfinite(c) for c in cuts
    ):
        raise ValueError(
            f"thresholds must be finite numbers such as [0.3, 0.5], got {thresholds!r}."
        )
    return cuts


def cumulate(by_bin, order, index, cuts) -> dict:
    """Each threshold's counts from counts per (group, positive, score bin)."""
    reached = np.cumsum(by_bin[..., ::-1], axis=-1)[..., ::-1]  # rows in bin k or above
    totals = reached[..., 0]  # (groups, 2): negatives, positives
    out = {}
    for k, cut in enumerate(order):
        decided = reached[..., k + 1]
        table = np.column_stack(
            [
                decided[:, 1],
                decided[:, 0],
                totals[:, 1] - decided[:, 1],
                totals[:, 0] - decided[:, 0],
            ]
        )
        out[cut] = pd.DataFrame(table, index=index.copy(), columns=list(CELLS))
    return {c: out[float(c)] for c in cuts}


def as_count_series(values, name):
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if len(series) == 0:
        raise ValueError(f"{name} is empty: give one count per group.")
    check_count_values(series.to_numpy(dtype=float, na_value=np.nan), name)
    return series


def check_count_values(values, name) -> None:
    if np.isnan(values).any():
        raise ValueError(f"{name} contains missing values; give a count for every group.")
    bad = values[~np.isfinite(values) | (np.abs(values) >= 2.0**62)]
    if len(bad):
        raise ValueError(f"{name} must be finite numbers of rows below 2**62, got {bad[0]}.")
    if (values < 0).any() or (values != np.round(values)).any():
        raise ValueError(f"{name} must be non-negative integers (numbers of rows), not rates.")


def check_counts(counts):
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(
            "counts must be a pandas DataFrame indexed by group with columns tp, fp, fn, tn "
            f"(see confusion_counts), got {type(counts).__name__}."
        )
    missing = [c for c in COUNT_COLUMNS if c not in counts.columns]
    if missing:
        raise ValueError(
            f"counts lacks column(s) {missing}; it needs tp, fp, fn, tn per group "
            f"(has {list(counts.columns)})."
        )
    if len(counts) == 0:
        raise ValueError("counts has no rows: audit needs at least one group.")
    if not counts.index.is_unique:
        dup = list(counts.index[counts.index.duplicated()])
        raise ValueError(f"counts has duplicate group labels {dup}; aggregate them first.")
    try:
        values = counts if counts.columns.equals(COUNT_INDEX) else counts[list(COUNT_COLUMNS)]
        table = values.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError("counts must hold numbers of rows in tp, fp, fn, tn.") from exc
    check_count_values(table, "counts")
    if table.sum() == 0:
        raise ValueError("counts are all zero: audit needs at least one row.")
    return table.astype(np.int64), counts.index


def check_audit_settings(ci, n_boot, min_group_size):
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real) or not 0 < ci < 1:
        raise ValueError(
            f"ci must be a confidence level strictly between 0 and 1 such as 0.95, got {ci!r}."
        )
    check_count(n_boot, "n_boot")
    check_count(min_group_size, "min_group_size")


def locate_group(index, group):
    if group is None:
        return None
    try:
        pos = index.get_loc(group)
    except (KeyError, TypeError, ValueError):
        pos = None
    if not isinstance(pos, numbers.Integral):
        groups = [to_jsonable(g) for g in index[:20]]
        hint = " (a tuple with one value per feature)" if isinstance(index, pd.MultiIndex) else ""
        raise ValueError(
            f"reference_group={group!r} is not among the groups {groups}"
            + (" ..." if len(index) > 20 else "")
            + f". Pass one of them{hint}, or None to compare the extreme groups."
        )
    return int(pos)
