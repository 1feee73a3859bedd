"""Input checks shared by the package, on top of scikit-learn's.

Each check raises a one-line ``ValueError`` or ``TypeError`` that names the
argument, what was wrong with it and what to pass instead. pandas inputs are
kept as they are (a categorical column of a million rows is coded, never
copied into Python objects).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fairaudit._io import to_jsonable


def as_1d(values, name):
    """Return (1-D values, pandas index or None); pandas objects are kept for speed."""
    if values is None or isinstance(values, str | bytes | numbers.Number):
        raise TypeError(
            f"{name} must be a one-dimensional array-like of labels (list, numpy array, "
            f"pandas Series), got {type(values).__name__}."
        )
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise TypeError(
                f"{name} must be one-dimensional; got a DataFrame with {values.shape[1]} "
                "columns. Pass a single column."
            )
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        return values, values.index
    if isinstance(values, pd.Index | pd.Categorical):
        return values, None
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise TypeError(f"{name} must be one-dimensional, got an array of shape {array.shape}.")
    return array, None


def sensitive_columns(sensitive_features):
    """Split sensitive_features into (list of 1-D columns, names, pandas indexes)."""
    if sensitive_features is None or isinstance(sensitive_features, str | bytes | numbers.Number):
        raise TypeError(
            "sensitive_features must be an array-like with one group label per row, a "
            f"DataFrame or a dict of such columns, got {type(sensitive_features).__name__}."
        )
    if isinstance(sensitive_features, pd.DataFrame):
        if sensitive_features.shape[1] == 0:
            raise ValueError("sensitive_features is a DataFrame without columns.")
        cols = [sensitive_features.iloc[:, j] for j in range(sensitive_features.shape[1])]
        return cols, list(sensitive_features.columns), [sensitive_features.index]
    if isinstance(sensitive_features, Mapping):
        if not sensitive_features:
            raise ValueError("sensitive_features is an empty dict; give at least one column.")
        cols, indexes = [], []
        for key, col in sensitive_features.items():
            col, idx = as_1d(col, f"sensitive_features[{key!r}]")
            cols.append(col)
            if idx is not None:
                indexes.append(idx)
        return cols, list(sensitive_features.keys()), indexes
    if isinstance(sensitive_features, pd.Series):
        name = sensitive_features.name
        name = "sensitive_feature_0" if name is None else name
        return [sensitive_features], [name], [sensitive_features.index]
    if isinstance(sensitive_features, pd.Index | pd.Categorical):
        name = getattr(sensitive_features, "name", None) or "sensitive_feature_0"
        return [sensitive_features], [name], []
    array = np.asarray(sensitive_features)
    if array.ndim == 1:
        return [array], ["sensitive_feature_0"], []
    if array.ndim == 2:
        return (
            [array[:, j] for j in range(array.shape[1])],
            [f"sensitive_feature_{j}" for j in range(array.shape[1])],
            [],
        )
    raise TypeError(f"sensitive_features must be 1-D or 2-D, got an array of shape {array.shape}.")


def check_indexes_agree(named_indexes):
    named_indexes = [(name, idx) for name, idx in named_indexes if idx is not None]
    for (name_a, a), (name_b, b) in zip(named_indexes, named_indexes[1:], strict=False):
        if len(a) == len(b) and not a.equals(b):
            raise ValueError(
                f"{name_a} and {name_b} are pandas objects with different indexes; audit pairs "
                "rows by position, so this is probably a misalignment. Align them first, or pass "
                "`.to_numpy()` / `.reset_index(drop=True)` if pairing by position is intended."
            )


def missing_message(name, codes):
    where = np.flatnonzero(codes < 0)
    shown = ", ".join(str(i) for i in where[:5]) + (", ..." if len(where) > 5 else "")
    return f"{name} has {len(where)} missing value(s) (NaN/None) at row position(s) {shown}"


def positive_mask(values, name):
    """Factorize labels once; return (pos_label -> boolean mask, known labels).

    The known labels are the observed values, or a binary categorical's categories (so
    that a sample in which one declared class does not occur still knows both labels).
    """
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype) and len(dtype.categories) <= 2:
        categorical = pd.Categorical(values)
        codes, uniques = categorical.codes, categorical.categories
    else:
        codes, uniques = pd.factorize(values)
    if (codes < 0).any():
        raise ValueError(
            f"{missing_message(name, codes)}. Labels must be known for every row: drop or "
            "impute those rows before auditing."
        )
    uniques = list(uniques)

    def mask(pos_label):
        hits = [i for i, u in enumerate(uniques) if same(u, pos_label)]
        if not hits:
            return np.zeros(len(codes), dtype=bool)
        return codes == hits[0]

    return mask, uniques


def same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def union_labels(*label_lists):
    labels = []
    for values in label_lists:
        for value in values:
            if not any(same(value, seen) for seen in labels):
                labels.append(value)
    return labels


def check_labels(labels, labels_true, labels_pred, pos_label, favourable_label):
    if len(labels) > 2:
        shown = shown_labels(labels)
        raise ValueError(
            f"y_true and y_pred together hold {len(labels)} distinct labels ({shown}; y_true "
            f"{len(labels_true)}, y_pred {len(labels_pred)}); audit needs binary labels. "
            "Threshold scores first (e.g. `(scores >= 0.5).astype(int)`), or compare one class "
            "against the rest (`y == cls`)."
        )
    for arg, value in (("pos_label", pos_label), ("favourable_label", favourable_label)):
        if value is None and arg == "favourable_label":
            continue
        if any(same(value, label) for label in labels):
            continue
        # One numeric class only (e.g. all 0): the other class simply did not occur.
        if len(labels) == 1 and is_number(value) and is_number(labels[0]):
            continue
        raise ValueError(
            f"{arg}={value!r} does not occur in y_true or y_pred, whose labels are "
            f"{shown_labels(labels)}. Pass {arg}= one of them"
            + (f", e.g. {arg}={labels[-1]!r}." if labels else ".")
        )


def is_number(value) -> bool:
    return isinstance(value, numbers.Number | np.bool_) and not isinstance(value, str)


def shown_labels(labels, limit=6):
    """At most ``limit`` labels as a short list for messages."""
    listed = [to_jsonable(v) for v in labels[:limit]]
    return repr(listed)[:-1] + (", ...]" if len(labels) > limit else "]")


def factorize_column(col, name, missing_group):
    """Sorted codes and level labels for one sensitive column."""
    try:
        codes, uniques = pd.factorize(col, sort=True)
    except TypeError:  # mixed types that cannot be ordered: first-appearance order
        codes, uniques = pd.factorize(col, sort=False)
    levels = list(uniques)
    missing = codes < 0
    if missing.any():
        if missing_group is None:
            raise ValueError(
                f"{missing_message(f'sensitive feature {name!r}', codes)}. Pass "
                "missing_group='missing' (any label) to audit those rows as a group of their "
                "own, or drop or impute them."
            )
        hits = [i for i, level in enumerate(levels) if same(level, missing_group)]
        if hits:
            code = hits[0]
        else:
            code = len(levels)
            levels.append(missing_group)
        codes = np.where(missing, code, codes)
    return codes.astype(np.int64), levels


def code_groups(columns, names, missing_group):
    """One integer code per row for its group (intersection), and the group index."""
    coded = [
        factorize_column(col, name, missing_group) for col, name in zip(columns, names, strict=True)
    ]
    if len(coded) == 1:
        codes, levels = coded[0]
        return codes, pd.Index(levels, name=names[0], tupleize_cols=False)
    sizes = [len(levels) for _, levels in coded]
    combined = np.zeros(len(coded[0][0]), dtype=np.int64)
    for (codes, _), size in zip(coded, sizes, strict=True):
        combined = combined * size + codes
    group_codes, present = pd.factorize(combined, sort=True)  # only combinations that occur
    parts = np.unravel_index(present, sizes)
    arrays = [pd.Index(levels)[part] for (_, levels), part in zip(coded, parts, strict=True)]
    return group_codes, pd.MultiIndex.from_arrays(arrays, names=names)


def as_count_series(values, name):
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if len(series) == 0:
        raise ValueError(f"{name} is empty: give one count per group.")
    if series.isna().any():
        raise ValueError(f"{name} contains missing values; give a count for every group.")
    numeric = series.to_numpy(dtype=float)
    if (numeric < 0).any() or (numeric != np.round(numeric)).any():
        raise ValueError(f"{name} must hold non-negative integer counts, not rates.")
    return series


def check_audit_settings(ci, n_boot, min_group_size):
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real) or not 0 < ci < 1:
        raise ValueError(
            f"ci must be a confidence level strictly between 0 and 1 such as 0.95, got {ci!r}."
        )
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 0:
        raise ValueError(
            f"n_boot must be a non-negative integer (0 skips intervals), got {n_boot!r}."
        )
    if (
        isinstance(min_group_size, bool)
        or not isinstance(min_group_size, numbers.Integral)
        or min_group_size < 0
    ):
        raise ValueError(f"min_group_size must be a non-negative integer, got {min_group_size!r}.")


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


def check_random_generator(random_state):
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(2**31 - 1)
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"random_state must be None, an int or a numpy Generator, got {random_state!r}."
        ) from exc
