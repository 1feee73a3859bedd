"""Input checks shared by the package, on top of scikit-learn's.

Each check raises a one-line ``ValueError`` or ``TypeError`` that names the
argument, what was wrong with it and what to pass instead, before any work
starts. The checks work on small summaries where they can (the distinct labels,
the distinct groups with their counts), so that every engine that counts rows
(NumPy, pandas, Polars, PyArrow, DuckDB, Spark) is held to the same rules and
gives the same message. pandas inputs are kept as they are (a categorical
column of a million rows is coded, never copied into Python objects).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.utils import column_or_1d

from fairaudit._io import to_jsonable

# --------------------------------------------------------------------------- group names


def group_key(group) -> str:
    """One string per group, never the same for two groups: ``"Female"``, ``"Female, Black"``.

    The values of an intersection are joined with ``", "``; a comma or a backslash
    inside a value is escaped with a backslash, so ``("A, B", "C")`` gives
    ``"A\\, B, C"`` and ``("A", "B, C")`` gives ``"A, B\\, C"``. A single value is
    a one-value group. Labels without commas read as they are.

    Parameters
    ----------
    group : scalar or tuple
        A group label, a tuple for an intersection of several sensitive features.

    Returns
    -------
    str
    """
    values = group if isinstance(group, tuple) else (group,)
    return ", ".join(str(to_jsonable(v)).replace("\\", "\\\\").replace(",", "\\,") for v in values)


def group_keys(sensitive_features) -> np.ndarray:
    """:func:`group_key` of every row of a DataFrame or Series of group columns.

    Raises
    ------
    TypeError
        If ``sensitive_features`` is not a DataFrame or Series.
    ValueError
        If a row has a missing group: it cannot be given its group's key.
    """
    if isinstance(sensitive_features, pd.Series):
        sensitive_features = sensitive_features.to_frame()
    if not isinstance(sensitive_features, pd.DataFrame):
        raise TypeError(
            "sensitive_features must be a pandas DataFrame or Series, "
            f"got {type(sensitive_features).__name__}."
        )
    missing = sensitive_features.isna().any()
    if missing.any():
        raise ValueError(
            f"sensitive features {[str(c) for c in missing.index[missing]]} have missing values; "
            "every row needs a group. Fill or drop those rows first."
        )
    rows = pd.Series(list(sensitive_features.itertuples(index=False, name=None)), dtype=object)
    codes, groups = pd.factorize(rows)
    return np.array([group_key(g) for g in groups], dtype=object)[codes]


# --------------------------------------------------------------------------- columns


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
    # a list keeps NaN missing (NumPy would write 'nan' in a string array)
    listed = isinstance(values, list | tuple)
    array = np.asarray(values, dtype=object) if listed else np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise TypeError(f"{name} must be one-dimensional, got an array of shape {array.shape}.")
    return (pd.Series(array, dtype=object).infer_objects() if listed else array), None


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
        names, indexes = list(sensitive_features.columns), [sensitive_features.index]
    elif isinstance(sensitive_features, Mapping):
        if not sensitive_features:
            raise ValueError("sensitive_features is an empty dict; give at least one column.")
        pairs = [as_1d(c, f"sensitive_features[{k!r}]") for k, c in sensitive_features.items()]
        cols, names = [c for c, _ in pairs], list(sensitive_features.keys())
        indexes = [idx for _, idx in pairs if idx is not None]
    elif isinstance(sensitive_features, pd.Series | pd.Index | pd.Categorical):
        col, idx = as_1d(sensitive_features, "sensitive_features")
        name = getattr(sensitive_features, "name", None)
        cols, names, indexes = [col], ["sensitive_feature_0" if name is None else name], [idx]
    else:
        listed = isinstance(sensitive_features, list | tuple)
        array = np.asarray(sensitive_features, dtype=object if listed else None)
        if array.ndim not in (1, 2):
            raise TypeError(
                f"sensitive_features must be 1-D or 2-D, got an array of shape {array.shape}."
            )
        cols = [array] if array.ndim == 1 else [array[:, j] for j in range(array.shape[1])]
        if listed:  # each column gets its own type (NaN stays missing)
            cols = [pd.Series(c, dtype=object).infer_objects() for c in cols]
        names, indexes = [f"sensitive_feature_{j}" for j in range(len(cols))], []
    for col, name in zip(cols, names, strict=True):
        if isinstance(col, np.ndarray) and col.dtype.kind == "U" and (col == "nan").any():
            raise ValueError(
                f"sensitive feature {name!r} holds the text 'nan' in a NumPy string array, which "
                "is what NumPy makes of a missing value: pass the column as a pandas Series or a "
                "list so that missing values stay missing (then use missing_group=)."
            )
    return cols, names, [idx for idx in indexes if idx is not None]


def check_lengths(lengths: Mapping[str, int]) -> int:
    """The common number of rows of named inputs, or a ValueError listing each one's."""
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(
            f"Inputs have different lengths: {listed} rows. Pass one entry per row in each."
        )
    return next(iter(lengths.values()))


def check_indexes_agree(named_indexes):
    named_indexes = [(name, idx) for name, idx in named_indexes if idx is not None]
    for (name_a, a), (name_b, b) in zip(named_indexes, named_indexes[1:], strict=False):
        if len(a) == len(b) and not a.equals(b):
            raise ValueError(
                f"{name_a} and {name_b} are pandas objects with different indexes; audit pairs "
                "rows by position, so this is probably a misalignment. Align them first, or pass "
                "`.to_numpy()` / `.reset_index(drop=True)` if pairing by position is intended."
            )


def as_sensitive(sensitive_features, n_rows: int):
    """Sensitive features as a Series (one column) or DataFrame, positions 0..n-1, no missing.

    For estimators (Fairlearn's mitigators) that take the group columns as pandas.
    """
    columns, names, _ = sensitive_columns(sensitive_features)
    check_lengths({"the data": n_rows, "sensitive_features": len(columns[0])})
    pairs = zip(names, columns, strict=True)
    frame = pd.DataFrame({n: c.to_numpy() if isinstance(c, pd.Series) else c for n, c in pairs})
    if frame.isna().to_numpy().any():
        raise ValueError(
            "sensitive_features has missing values; map them to an explicit group such as "
            "'unknown' first."
        )
    if len(columns) == 1:  # one column: a Series, as Fairlearn takes it
        named = isinstance(sensitive_features, pd.DataFrame | Mapping)
        return frame.iloc[:, 0].rename(
            names[0] if named else getattr(sensitive_features, "name", None)
        )
    return frame


def binary_labels(y, name: str) -> np.ndarray:
    """Labels as an int array of 0 and 1 (1 the positive class), else a ValueError."""
    try:
        array = column_or_1d(np.asarray(y), warn=False)
    except ValueError as exc:
        raise ValueError(f"{name} must be one-dimensional, got shape {np.shape(y)}.") from exc
    values = set(pd.unique(array).tolist())
    if not values <= {0, 1}:
        raise ValueError(
            f"{name} must hold binary labels 0/1, got values {sorted(values, key=str)[:5]}; "
            "encode the positive class as 1."
        )
    return array.astype(int)


def check_count(value, name: str) -> int:
    """A non-negative integer (a number of rows, of replicates), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


def check_non_negative(value, name: str) -> float:
    """A finite number at least 0, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < np.inf:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
    return float(value)


# --------------------------------------------------------------------------- labels


def missing_message(name, n_missing):
    return f"{name} has {n_missing} missing value(s) (null or NaN)"


def check_label_values(name, values, n_missing) -> list:
    """The distinct known labels of ``name``; refuse any missing label."""
    if n_missing:
        raise ValueError(
            f"{missing_message(name, n_missing)}; labels must be known for every row: drop or "
            "impute those rows before auditing."
        )
    return [v.item() if isinstance(v, np.generic) else v for v in values]


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
    uniques = check_label_values(name, list(uniques), int((codes < 0).sum()))

    def mask(pos_label):
        hits = [i for i, u in enumerate(uniques) if same(u, pos_label)]
        return codes == hits[0] if hits else np.zeros(len(codes), dtype=bool)

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


def check_labels(labels_true, labels_pred, pos_label, favourable_label) -> list:
    """The labels of y_true and y_pred together, checked against pos_label and favourable_label."""
    labels = union_labels(labels_true, labels_pred)
    if not labels:
        raise ValueError("The data have no rows: audit needs at least one row.")
    if len(labels) > 2:
        raise ValueError(
            f"y_true and y_pred together hold {len(labels)} distinct labels "
            f"({shown_labels(labels)}; y_true {len(labels_true)}, y_pred {len(labels_pred)}); "
            "audit needs binary labels. Threshold scores first (e.g. `(y_score >= 0.5)`), or "
            "compare one class against the rest (`y == cls`)."
        )
    for arg, value in (("pos_label", pos_label), ("favourable_label", favourable_label)):
        if value is None and arg == "favourable_label":
            continue
        if any(same(value, label) for label in labels):
            continue
        # 0/1 labels of which one class did not occur (a window where nobody defaulted)
        if len(labels) == 1 and {_as_bit(labels[0]), _as_bit(value)} == {0, 1}:
            continue
        example = max(labels, key=repr)  # the same whichever order an engine returns them in
        raise ValueError(
            f"{arg}={value!r} does not occur in y_true or y_pred, whose labels are "
            f"{shown_labels(labels)}. Pass {arg}= one of them, e.g. {arg}={example!r}."
        )
    return labels


def _as_bit(value):
    """0 or 1 for a label that is the number 0 or 1 (or False/True), else None."""
    if isinstance(value, numbers.Number | np.bool_) and not isinstance(value, str):
        return int(value) if value in (0, 1) else None
    return None


def shown_labels(labels, limit=6):
    """At most ``limit`` values as a short list for messages, in an order no engine changes."""
    listed = sorted((to_jsonable(v) for v in labels), key=lambda v: (type(v).__name__, repr(v)))
    return repr(listed[:limit])[:-1] + (", ...]" if len(labels) > limit else "]")


# --------------------------------------------------------------------------- groups


def value_kind(values) -> str:
    """``"text"``, ``"number"``, ``"bool"``, ``"mixed"``, ``"none"`` or another type's name."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        values = values.categories if hasattr(values, "categories") else values.cat.categories
    kind = pd.api.types.infer_dtype(values, skipna=True)
    return KINDS.get(kind, kind)


KINDS = {"string": "text", "boolean": "bool", "empty": "none", "mixed-integer": "mixed"}
KINDS.update(dict.fromkeys(["integer", "floating", "mixed-integer-float", "decimal"], "number"))


def group_codes(levels, weights, names, missing_group, keep_order):
    """Number the groups of a small table of group values, in one order for every engine.

    ``levels`` holds one Series per sensitive feature, one value per row of the
    small table (a combination that occurs; missing values null or NaN);
    ``weights`` the rows of data behind each (for messages). Groups come in the
    order of their values, or of the categories of a categorical whose order was
    declared (``keep_order``: a pandas categorical, an Enum), with
    ``missing_group`` last. Returns (the group number of each row, the groups).
    """
    ranks, uniques = [], []
    for col, name, keep in zip(levels, names, keep_order, strict=True):
        if isinstance(col.dtype, pd.CategoricalDtype) and not keep:
            col = col.astype(object)
        missing = col.isna().to_numpy()
        kind = value_kind(col[~missing])
        if kind == "mixed":
            raise TypeError(
                f"sensitive feature {name!r} mixes types of values "
                f"({shown_labels(pd.unique(col[~missing]), 4)}); convert it to "
                "one type first, e.g. with .astype(str)."
            )
        codes, values = pd.factorize(col, sort=True)
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
        if missing.any():
            if missing_group is None:
                raise ValueError(
                    f"{missing_message(f'sensitive feature {name!r}', int(weights[missing].sum()))}"
                    ". Pass missing_group='missing' (any label of the column's type) to audit "
                    "those rows as a group of their own, or drop or impute them."
                )
            if kind != "none" and value_kind([missing_group]) != kind:
                raise TypeError(
                    f"missing_group={missing_group!r} is not of the type of sensitive feature "
                    f"{name!r}, which holds {kind} values; pass a missing_group of that type, "
                    "or convert the column first."
                )
            hits = [i for i, v in enumerate(values) if same(v, missing_group)]
            codes = np.where(missing, hits[0] if hits else len(values), codes)
            values += [] if hits else [missing_group]
        ranks.append(codes)
        uniques.append(values)
    combos, group_of_row = np.unique(np.column_stack(ranks), axis=0, return_inverse=True)
    arrays = [pd.Index([values[c] for c in combos[:, j]], tupleize_cols=False)
              for j, values in enumerate(uniques)]  # fmt: skip
    if len(arrays) == 1:
        return group_of_row.ravel(), arrays[0].rename(names[0])
    return group_of_row.ravel(), pd.MultiIndex.from_arrays(arrays, names=names)


# --------------------------------------------------------------------------- random state


def check_random_generator(random_state):
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(2**31 - 1)
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"random_state must be None, an int or a numpy Generator, got {random_state!r}."
        ) from exc
