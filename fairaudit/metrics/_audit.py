"""An exact, fast group-fairness audit with bootstrap confidence intervals.

A *group audit* asks two questions of a binary decision system: how do its
outcomes and its errors differ between groups of people, and is a difference
real or noise? :func:`audit` answers both in one call. It reports, for every
group and for everyone, the rates Fairlearn's :class:`~fairlearn.metrics.MetricFrame`
reports (selection rate, true/false positive/negative rates, precision,
accuracy, balanced accuracy), the largest gap and the smallest ratio between
groups (Fairlearn's ``between_groups`` difference and ratio) or against a
reference group, and the *disparate impact* of the favourable outcome with the
four-fifths rule used by fairness monitors. Every number carries a bootstrap
confidence interval.

How it works
------------
Every metric above is a function of four numbers per group: the confusion
counts ``tp, fp, fn, tn`` (true positives, false positives, false negatives,
true negatives, with *positive* meaning ``pos_label``, as in Fairlearn). The
audit therefore reads the rows once: it codes each row's group and confusion
cell and counts the ``(group, cell)`` pairs with one :func:`numpy.bincount`.
Everything else is computed from that small table (:func:`confusion_counts`
builds it, :func:`audit_from_counts` audits it, e.g. counts aggregated by a
database).

The intervals are percentile bootstrap intervals of the ordinary row
bootstrap (resample the ``n`` rows with replacement, recompute the statistic,
take the ``(1 - ci) / 2`` and ``(1 + ci) / 2`` quantiles of the replicates),
computed without touching the rows again. Resampling ``n`` rows with
replacement and counting them by ``(group, cell)`` gives counts that follow
exactly a multinomial distribution with ``n`` trials and cell probabilities
equal to the observed cell shares. So each replicate is one multinomial draw
over all ``(group x cell)`` counts jointly: group sizes vary between replicates,
as they do in the row bootstrap, and a thousand replicates cost milliseconds
whatever ``n`` is. Each replicate's statistics are computed from its counts with
the same code as the point estimates.

Undefined metrics
-----------------
A rate whose denominator is zero (a true positive rate in a group without
actual positives, a precision in a group with no predicted positives) is
undefined. Fairlearn (through scikit-learn) reports 0 there; this module
reports NaN and emits one :class:`UndefinedMetricWarning` per audit naming each
such metric and its groups, so that a missing quantity is never mistaken for a
measured zero. Balanced accuracy is
undefined unless both classes occur in the group. Differences and ratios
between groups skip undefined groups (as :meth:`pandas.DataFrame.max` does).
Bootstrap replicates in which a statistic is undefined (a small group that
drew no positives, say) are dropped from that statistic's interval without a
warning; the point estimate decides whether a metric is reported at all.

Limits of the percentile bootstrap: intervals for small groups, and for rates
at or near 0 or 1, are too narrow (a group with 12 rows and no false positives
gets the interval [0, 0]). Groups smaller than ``min_group_size`` are flagged
in the ``small_group`` column so that a reader discounts them. A largest gap
(``max - min`` over groups) is biased upwards when the groups are truly alike:
noise alone makes some group the highest, so its interval rarely reaches 0.
Judge "no difference" from the per-group intervals, not from the gap's.
The disparate-impact reference group is chosen once, on the data; replicates
keep it fixed.

Examples
--------
>>> import numpy as np
>>> from fairaudit.metrics import audit
>>> y_true = np.array([1, 0, 1, 1, 0, 0, 1, 0])
>>> y_pred = np.array([1, 0, 0, 1, 1, 0, 1, 0])
>>> group = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
>>> result = audit(y_true, y_pred, group, n_boot=200, random_state=0)
>>> result.by_group["selection_rate"].tolist()
[0.5, 0.5]
>>> float(result.difference().loc["true_positive_rate", "value"])
0.33333333333333337
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairaudit._validation import (
    as_1d,
    as_count_series,
    check_audit_settings,
    check_indexes_agree,
    check_labels,
    check_random_generator,
    code_groups,
    locate_group,
    positive_mask,
    same,
    sensitive_columns,
    union_labels,
)
from fairaudit.metrics._counts import (
    COUNT_COLUMNS,
    METRICS,
    UndefinedMetricWarning,
    _disparate_impact_frame,
    _multinomial,
)
from fairaudit.metrics._result import _COUNT_INDEX, AuditResult
from fairaudit.metrics._tables import table_counts, threshold_counts

__all__ = [
    "METRICS",
    "AuditResult",
    "UndefinedMetricWarning",
    "audit",
    "audit_from_counts",
    "confusion_counts",
    "disparate_impact_from_counts",
]


def audit(
    y_true=None,
    y_pred=None,
    sensitive_features=None,
    *,
    data=None,
    y_score=None,
    thresholds=None,
    pos_label=1,
    favourable_label=None,
    reference_group=None,
    ci=0.95,
    n_boot=1000,
    random_state=None,
    min_group_size=30,
    missing_group=None,
) -> AuditResult:
    """Audit binary decisions for group fairness, with bootstrap confidence intervals.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True binary labels.
    y_pred : array-like of shape (n,)
        Predicted binary labels (threshold scores first).
    sensitive_features : array-like of shape (n,), DataFrame, dict of columns or 2-D array
        The group of each row. With several columns the groups are their
        intersections (as in :class:`~fairlearn.metrics.MetricFrame`); only
        combinations that occur are reported. Rows are paired by position.
    data : table, optional
        A table holding the columns: pandas, Polars (eager or lazy), PyArrow, a
        DuckDB relation, a PySpark DataFrame, anything :func:`narwhals.from_native`
        reads. ``y_true``, ``y_pred`` (or ``y_score``) and ``sensitive_features``
        are then column names, as in seaborn. The engine computes the per-group
        counts where the data live and only those come back; the result equals
        the array form's on the same rows.
    y_score : array-like or str, optional
        Scores instead of ``y_pred``, with ``thresholds``: a row is decided
        positive at threshold ``t`` when its score is at least ``t``.
    thresholds : sequence of float, optional
        Audit every threshold from one aggregation (counts per group, label and
        score bin). The result is then a dict ``{threshold: AuditResult}``.
    pos_label : scalar, default 1
        The label counted as *positive* in selection rate, TPR, FPR, FNR, TNR
        and precision (Fairlearn's semantics). Must occur in ``y_true`` or
        ``y_pred``.
    favourable_label : scalar, optional
        The predicted label that benefits the person (loan granted, no default
        predicted); used for :attr:`AuditResult.disparate_impact`. Defaults to
        ``pos_label``. May differ from it: when ``1`` means *default predicted*,
        the favourable outcome is ``0``.
    reference_group : group label, optional
        If given, :meth:`AuditResult.difference`, :meth:`AuditResult.ratio` and
        disparate impact compare every group with this one (a tuple for
        intersections). If None, differences and ratios are taken between the
        extreme groups, and the disparate-impact reference is the group with the
        highest favourable rate among groups of at least ``min_group_size``
        rows (among all groups if none is that large).
    ci : float, default 0.95
        Confidence level of the percentile bootstrap intervals, in (0, 1).
    n_boot : int, default 1000
        Bootstrap replicates. 0 skips the intervals (they are NaN).
    random_state : int, numpy Generator or None
        Seed for the bootstrap; results are reproducible given an int.
    min_group_size : int, default 30
        Groups with fewer rows are flagged in the ``small_group`` column.
    missing_group : scalar, optional
        Label for rows whose sensitive feature is missing (NaN/None). By default
        missing values raise a ``ValueError``; pass e.g. ``"missing"`` to audit
        those rows as a group of their own (same as ``fillna(missing_group)``).

    Returns
    -------
    AuditResult

    Raises
    ------
    ValueError
        Mismatched lengths, empty input, missing labels, non-binary labels,
        ``pos_label``/``favourable_label`` not in the data, ``reference_group`` not
        among the groups, missing sensitive values without ``missing_group``,
        pandas inputs whose indexes disagree.
    TypeError
        Inputs that are not one-dimensional array-likes.

    Warns
    -----
    UndefinedMetricWarning
        When a metric has a zero denominator in some group (reported as NaN).

    Examples
    --------
    Credit decisions where ``1`` means *default predicted* (the positive class
    of the model) and ``0``, *no default predicted*, is the favourable outcome:

    >>> import pandas as pd
    >>> from fairaudit import audit
    >>> df = pd.DataFrame({
    ...     "default": [0, 0, 1, 0, 1, 0, 0, 1, 1, 0],
    ...     "predicted": [0, 0, 1, 1, 1, 0, 1, 1, 1, 1],
    ...     "sex": ["female"] * 5 + ["male"] * 5,
    ... })
    >>> result = audit(df["default"], df["predicted"], df["sex"], favourable_label=0,
    ...                n_boot=500, random_state=0, min_group_size=5)
    >>> result.by_group["selection_rate"].to_dict()  # share predicted to default
    {'female': 0.6, 'male': 0.8}
    >>> result.by_group["false_positive_rate"].round(3).to_dict()
    {'female': 0.333, 'male': 0.667}
    >>> result.reference_group, result.disparate_impact["disparate_impact"].to_dict()
    ('female', {'male': 0.5})
    >>> result.passes(threshold=0.8)
    False
    """
    check_audit_settings(ci, n_boot, min_group_size)
    settings = dict(
        pos_label=pos_label,
        favourable_label=favourable_label,
        reference_group=reference_group,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
        min_group_size=min_group_size,
        missing_group=missing_group,
    )
    if y_score is not None or thresholds is not None:
        if y_score is None or thresholds is None or y_pred is not None:
            raise ValueError(
                "Give y_score together with thresholds, instead of y_pred: each threshold "
                "decides the rows whose score reaches it."
            )
        if data is None:
            data, y_true, y_score, sensitive_features = _as_table(
                y_true, y_score, sensitive_features
            )
        by_threshold = threshold_counts(
            data, y_true, y_score, sensitive_features, thresholds,
            pos_label=pos_label, missing_group=missing_group,
        )  # fmt: skip
        return {cut: _audit_counts(counts, **settings) for cut, counts in by_threshold.items()}
    if data is not None:
        counts = table_counts(
            data, y_true, y_pred, sensitive_features,
            pos_label=pos_label, favourable_label=favourable_label, missing_group=missing_group,
        )  # fmt: skip
        return _audit_counts(counts, **settings)
    if y_true is None or y_pred is None:
        raise TypeError(
            "audit needs y_true, y_pred and sensitive_features (arrays), or data= with the "
            "names of those columns."
        )
    counts = _count_rows(
        y_true, y_pred, sensitive_features, pos_label, favourable_label, missing_group
    )
    return _audit_counts(counts, **settings)


def _as_table(y_true, y_score, sensitive_features):
    """Arrays as one pandas table, so that thresholds are counted as for any table."""
    y_true, _ = as_1d(y_true, "y_true")
    y_score, _ = as_1d(y_score, "y_score")
    columns, names, _ = sensitive_columns(sensitive_features)
    names = [str(n) for n in names]
    frame = pd.DataFrame(
        {"__y_true": np.asarray(y_true), "__y_score": np.asarray(y_score, dtype=float)}
    )
    for name, col in zip(names, columns, strict=True):
        frame[name] = np.asarray(col) if not isinstance(col, pd.Series) else col.to_numpy()
    return frame, "__y_true", "__y_score", names


def confusion_counts(
    y_true, y_pred, sensitive_features, *, pos_label=1, missing_group=None
) -> pd.DataFrame:
    """Count true/false positives/negatives per group in one pass over the rows.

    Parameters
    ----------
    y_true, y_pred, sensitive_features, pos_label, missing_group
        As in :func:`audit`.

    Returns
    -------
    pandas.DataFrame
        One row per group that occurs (index = group label, a MultiIndex for
        several sensitive features, sorted), integer columns ``tp, fp, fn, tn``.

    Raises
    ------
    ValueError, TypeError
        As :func:`audit` does for bad rows.
    """
    return _count_rows(y_true, y_pred, sensitive_features, pos_label, None, missing_group)


def _count_rows(y_true, y_pred, sensitive_features, pos_label, favourable_label, missing_group):
    y_true, true_index = as_1d(y_true, "y_true")
    y_pred, pred_index = as_1d(y_pred, "y_pred")
    columns, names, feature_indexes = sensitive_columns(sensitive_features)
    n = len(y_true)
    lengths = {"y_true": n, "y_pred": len(y_pred)}
    for name, col in zip(names, columns, strict=True):
        lengths[f"sensitive_features[{name!r}]" if len(columns) > 1 else "sensitive_features"] = (
            len(col)
        )
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(
            f"Inputs have different lengths: {listed} rows. Pass one entry per row in each."
        )
    if n == 0:
        raise ValueError("y_true is empty: audit needs at least one row.")
    check_indexes_agree(
        [("y_true", true_index), ("y_pred", pred_index)]
        + [("sensitive_features", idx) for idx in feature_indexes]
    )

    is_pos_true, labels_true = positive_mask(y_true, "y_true")
    is_pos_pred, labels_pred = positive_mask(y_pred, "y_pred")
    labels = union_labels(labels_true, labels_pred)
    check_labels(labels, labels_true, labels_pred, pos_label, favourable_label)
    is_pos_true = is_pos_true(pos_label)
    is_pos_pred = is_pos_pred(pos_label)

    # tp -> 0, fp -> 1, fn -> 2, tn -> 3 (the order of COUNT_COLUMNS)
    cell = 3 - 2 * is_pos_pred.astype(np.int8) - is_pos_true.astype(np.int8)
    group_codes, index = code_groups(columns, names, missing_group)
    n_groups = len(index)
    table = np.bincount(group_codes * 4 + cell, minlength=4 * n_groups).reshape(n_groups, 4)
    return pd.DataFrame(table.astype(np.int64), index=index, columns=list(COUNT_COLUMNS))


def audit_from_counts(
    counts,
    *,
    pos_label=1,
    favourable_label=None,
    reference_group=None,
    ci=0.95,
    n_boot=1000,
    random_state=None,
    min_group_size=30,
    missing_group=None,
) -> AuditResult:
    """Audit from per-group confusion counts (e.g. aggregated by a database).

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per group (the index holds the group labels), non-negative
        integer columns ``tp, fp, fn, tn`` as returned by :func:`confusion_counts`.
        Other columns are ignored.
    pos_label : scalar, default 1
        Recorded in the settings only: the counts already say what was positive.
    favourable_label : scalar, optional
        None or equal to ``pos_label``: the favourable outcome is a positive
        prediction (``tp + fp``). Any other value: it is a negative prediction
        (``fn + tn``), the other label of a binary problem.
    reference_group, ci, n_boot, random_state, min_group_size
        As in :func:`audit`.
    missing_group : scalar, optional
        Recorded in the settings only.

    Returns
    -------
    AuditResult
    """
    return _audit_counts(
        counts,
        pos_label=pos_label,
        favourable_label=favourable_label,
        reference_group=reference_group,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
        min_group_size=min_group_size,
        missing_group=missing_group,
    )


def _audit_counts(
    counts,
    *,
    pos_label,
    favourable_label,
    reference_group,
    ci,
    n_boot,
    random_state,
    min_group_size,
    missing_group,
):
    table, index = _check_counts(counts)
    check_audit_settings(ci, n_boot, min_group_size)
    ref_pos = locate_group(index, reference_group)
    rng = check_random_generator(random_state)
    favourable_is_positive = favourable_label is None or same(favourable_label, pos_label)
    settings = {
        "pos_label": pos_label,
        "favourable_label": pos_label if favourable_label is None else favourable_label,
        "favourable_outcome": "y_pred == pos_label"
        if favourable_is_positive
        else "y_pred != pos_label",
        "reference_group": reference_group,
        "ci": ci,
        "n_boot": n_boot,
        "random_state": random_state,
        "min_group_size": min_group_size,
        "missing_group": missing_group,
        "sensitive_features": [None if name is None else str(name) for name in index.names],
        "interval_method": "percentile bootstrap; multinomial resampling of "
        "(group x confusion cell) counts, equivalent to resampling rows",
    }
    return AuditResult(table, index, ref_pos, favourable_is_positive, rng, settings)


def disparate_impact_from_counts(
    favourable,
    total,
    *,
    reference_group=None,
    ci=0.95,
    n_boot=1000,
    random_state=None,
    min_group_size=30,
) -> pd.DataFrame:
    """Disparate impact of a favourable outcome from per-group counts.

    The disparate impact of a group is its favourable-outcome rate divided by
    the reference group's. The *four-fifths rule* flags ratios below 0.8.

    Parameters
    ----------
    favourable : pandas.Series or dict
        Number of rows with the favourable outcome per group (index = group).
    total : pandas.Series or dict
        Number of rows per group, same groups.
    reference_group : group label, optional
        Default: the group with the highest favourable rate among groups of at
        least ``min_group_size`` rows (among all groups if none is that large).
    ci, n_boot, random_state, min_group_size
        As in :func:`audit`; the bootstrap draws ``(group x favourable or not)``
        counts from one multinomial, as resampling rows would.

    Returns
    -------
    pandas.DataFrame
        Indexed by the non-reference groups: ``favourable_rate, reference_rate,
        disparate_impact, ci_low, ci_high, count, small_group``. The reference
        group is in ``.attrs["reference_group"]``.
    """
    fav = as_count_series(favourable, "favourable")
    tot = as_count_series(total, "total")
    if not fav.index.equals(tot.index):
        if set(fav.index) != set(tot.index):
            raise ValueError(
                "favourable and total must have the same groups in their index; got "
                f"{list(fav.index)} and {list(tot.index)}."
            )
        fav = fav.reindex(tot.index)
    if (fav.to_numpy() > tot.to_numpy()).any():
        bad = list(fav.index[fav.to_numpy() > tot.to_numpy()])
        raise ValueError(f"favourable exceeds total for group(s) {bad}; pass counts, not rates.")
    check_audit_settings(ci, n_boot, min_group_size)
    index = tot.index
    ref_pos = locate_group(index, reference_group)
    fav_n = fav.to_numpy(dtype=np.int64)
    tot_n = tot.to_numpy(dtype=np.int64)
    boot_fav, boot_tot = None, None
    if n_boot > 0 and tot_n.sum() > 0:
        cells = np.stack([fav_n, tot_n - fav_n], axis=1).ravel()
        rng = check_random_generator(random_state)
        draws = _multinomial(cells, n_boot, rng).reshape(n_boot, -1, 2)
        boot_fav, boot_tot = draws[..., 0], draws.sum(axis=2)
    frame, _ = _disparate_impact_frame(
        index, fav_n, tot_n, boot_fav, boot_tot, ref_pos, ci, min_group_size, stacklevel=3
    )  # user -> disparate_impact_from_counts -> helper -> warn
    return frame


def _check_counts(counts):
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
        values = counts if counts.columns.equals(_COUNT_INDEX) else counts[list(COUNT_COLUMNS)]
        table = values.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError("counts must hold numbers of rows in tp, fp, fn, tn.") from exc
    if np.isnan(table).any():
        raise ValueError("counts contains NaN; every group needs four known counts.")
    if (table < 0).any() or (table != np.round(table)).any():
        raise ValueError("counts must be non-negative integers (numbers of rows), not rates.")
    if table.sum() == 0:
        raise ValueError("counts are all zero: audit needs at least one row.")
    return table.astype(np.int64), counts.index
