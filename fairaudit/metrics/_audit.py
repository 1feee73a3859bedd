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

import math
import numbers
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "METRICS",
    "AuditResult",
    "UndefinedMetricWarning",
    "audit",
    "audit_from_counts",
    "confusion_counts",
    "disparate_impact_from_counts",
]

#: The rates reported per group, overall, and as differences and ratios.
METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_negative_rate",
    "precision",
    "accuracy",
    "balanced_accuracy",
)

#: Columns of the confusion-count table; positive means ``pos_label``.
COUNT_COLUMNS = ("tp", "fp", "fn", "tn")

_UNDEFINED_BECAUSE = {
    "selection_rate": "the group has no rows",
    "accuracy": "the group has no rows",
    "true_positive_rate": "no rows with y_true == pos_label",
    "false_negative_rate": "no rows with y_true == pos_label",
    "false_positive_rate": "no rows with y_true != pos_label",
    "true_negative_rate": "no rows with y_true != pos_label",
    "precision": "no rows with y_pred == pos_label",
    "balanced_accuracy": "y_true does not contain both labels",
}

_DI_COLUMNS = (
    "favorable_rate",
    "reference_rate",
    "disparate_impact",
    "ci_low",
    "ci_high",
    "count",
    "small_group",
)

# Column labels, built once (pandas string indexes are costly to build per call).
_METRIC_INDEX = pd.Index(METRICS, name="metric")
_RATE_COLUMNS = pd.Index(
    [*METRICS, *(f"{m}_ci_{side}" for m in METRICS for side in ("low", "high"))]
)
_OVERALL_INDEX = pd.Index(["count", *_RATE_COLUMNS])
_VALUE_COLUMNS = pd.Index(["value", "ci_low", "ci_high"])
_COUNT_INDEX = pd.Index(COUNT_COLUMNS)
_DI_FLOAT = pd.Index(_DI_COLUMNS[:5])

# Above this many (group x cell) combinations of several sensitive features,
# intersections are found by sorting instead of by a dense bincount.
_DENSE_INTERSECTION_LIMIT = 1 << 22


class UndefinedMetricWarning(UserWarning):
    """A metric has a zero denominator for some group and is reported as NaN."""


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def audit(
    y_true,
    y_pred,
    sensitive_features,
    *,
    pos_label=1,
    favorable_label=None,
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
    pos_label : scalar, default 1
        The label counted as *positive* in selection rate, TPR, FPR, FNR, TNR
        and precision (Fairlearn's semantics). Must occur in ``y_true`` or
        ``y_pred``.
    favorable_label : scalar, optional
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
        ``pos_label``/``favorable_label`` not in the data, ``reference_group`` not
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
    >>> result = audit(df["default"], df["predicted"], df["sex"], favorable_label=0,
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
    _check_settings(ci, n_boot, min_group_size)
    counts = _count_rows(
        y_true, y_pred, sensitive_features, pos_label, favorable_label, missing_group
    )
    return _audit_counts(
        counts,
        pos_label=pos_label,
        favorable_label=favorable_label,
        reference_group=reference_group,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
        min_group_size=min_group_size,
        missing_group=missing_group,
    )


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


def _count_rows(y_true, y_pred, sensitive_features, pos_label, favorable_label, missing_group):
    y_true, true_index = _as_1d(y_true, "y_true")
    y_pred, pred_index = _as_1d(y_pred, "y_pred")
    columns, names, feature_indexes = _sensitive_columns(sensitive_features)
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
    _check_indexes_agree(
        [("y_true", true_index), ("y_pred", pred_index)]
        + [("sensitive_features", idx) for idx in feature_indexes]
    )

    is_pos_true, labels_true = _positive_mask(y_true, "y_true")
    is_pos_pred, labels_pred = _positive_mask(y_pred, "y_pred")
    labels = _union_labels(labels_true, labels_pred)
    _check_labels(labels, labels_true, labels_pred, pos_label, favorable_label)
    is_pos_true = is_pos_true(pos_label)
    is_pos_pred = is_pos_pred(pos_label)

    # tp -> 0, fp -> 1, fn -> 2, tn -> 3 (the order of COUNT_COLUMNS)
    cell = 3 - 2 * is_pos_pred.astype(np.int8) - is_pos_true.astype(np.int8)
    group_codes, index = _group_codes(columns, names, missing_group)
    n_groups = len(index)
    table = np.bincount(group_codes * 4 + cell, minlength=4 * n_groups).reshape(n_groups, 4)
    return pd.DataFrame(table.astype(np.int64), index=index, columns=list(COUNT_COLUMNS))


def audit_from_counts(
    counts,
    *,
    pos_label=1,
    favorable_label=None,
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
    favorable_label : scalar, optional
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
        favorable_label=favorable_label,
        reference_group=reference_group,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
        min_group_size=min_group_size,
        missing_group=missing_group,
    )


# Warnings point at the caller of audit() / audit_from_counts(): user -> public function
# -> _audit_counts -> AuditResult.__init__ -> helper -> warnings.warn.
_USER_STACKLEVEL = 5


def _audit_counts(
    counts,
    *,
    pos_label,
    favorable_label,
    reference_group,
    ci,
    n_boot,
    random_state,
    min_group_size,
    missing_group,
):
    table, index = _check_counts(counts)
    _check_settings(ci, n_boot, min_group_size)
    ref_pos = _locate_group(index, reference_group)
    rng = _rng(random_state)
    favorable_is_positive = favorable_label is None or _same(favorable_label, pos_label)
    settings = {
        "pos_label": pos_label,
        "favorable_label": pos_label if favorable_label is None else favorable_label,
        "favorable_outcome": "y_pred == pos_label"
        if favorable_is_positive
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
    return AuditResult(table, index, ref_pos, favorable_is_positive, rng, settings)


def disparate_impact_from_counts(
    favorable,
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
    favorable : pandas.Series or dict
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
        Indexed by the non-reference groups: ``favorable_rate, reference_rate,
        disparate_impact, ci_low, ci_high, count, small_group``. The reference
        group is in ``.attrs["reference_group"]``.
    """
    fav = _as_count_series(favorable, "favorable")
    tot = _as_count_series(total, "total")
    if not fav.index.equals(tot.index):
        if set(fav.index) != set(tot.index):
            raise ValueError(
                "favorable and total must have the same groups in their index; got "
                f"{list(fav.index)} and {list(tot.index)}."
            )
        fav = fav.reindex(tot.index)
    if (fav.to_numpy() > tot.to_numpy()).any():
        bad = list(fav.index[fav.to_numpy() > tot.to_numpy()])
        raise ValueError(f"favorable exceeds total for group(s) {bad}; pass counts, not rates.")
    _check_settings(ci, n_boot, min_group_size)
    index = tot.index
    ref_pos = _locate_group(index, reference_group)
    fav_n = fav.to_numpy(dtype=np.int64)
    tot_n = tot.to_numpy(dtype=np.int64)
    boot_fav, boot_tot = None, None
    if n_boot > 0 and tot_n.sum() > 0:
        cells = np.stack([fav_n, tot_n - fav_n], axis=1).ravel()
        draws = _multinomial(cells, n_boot, _rng(random_state)).reshape(n_boot, -1, 2)
        boot_fav, boot_tot = draws[..., 0], draws.sum(axis=2)
    frame, _ = _disparate_impact_frame(
        index, fav_n, tot_n, boot_fav, boot_tot, ref_pos, ci, min_group_size, stacklevel=3
    )  # user -> disparate_impact_from_counts -> helper -> warn
    return frame


# ---------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------


class AuditResult:
    """What :func:`audit` found: per-group metrics, gaps, disparate impact.

    Attributes
    ----------
    by_group : pandas.DataFrame
        One row per group: ``count``, the rates in :data:`METRICS`, for each rate
        ``<rate>_ci_low`` and ``<rate>_ci_high``, and ``small_group`` (fewer rows
        than ``min_group_size``).
    overall : pandas.Series
        The same quantities for all rows together.
    counts : pandas.DataFrame
        The confusion counts ``tp, fp, fn, tn`` per group behind every number.
    disparate_impact : pandas.DataFrame
        Indexed by the non-reference groups: ``favorable_rate, reference_rate,
        disparate_impact, ci_low, ci_high, count, small_group``.
    reference_group : group label
        The disparate-impact reference (the given one, else the chosen one).
    settings : dict
        The arguments the audit ran with.
    """

    def __init__(self, table, index, ref_pos, favorable_is_positive, rng, settings):
        self.settings = dict(settings)
        self.counts = pd.DataFrame(table, index=index, columns=_COUNT_INDEX.copy())
        ci = settings["ci"]
        n_boot = settings["n_boot"]
        min_group_size = settings["min_group_size"]
        self._ref_pos = ref_pos
        sizes = table.sum(axis=1)

        point = _rates(table)  # (G, M)
        point_all = _rates(table.sum(axis=0))  # (M,)
        _warn_undefined(point, point_all, index, _USER_STACKLEVEL)

        boot = None
        if n_boot > 0 and sizes.sum() > 0:
            boot = _multinomial(table.ravel(), n_boot, rng).reshape(n_boot, len(index), 4)
        nan_g = np.full((2,) + point.shape, np.nan)
        nan_m = np.full((2, len(METRICS)), np.nan)
        if boot is not None:
            boot_rates = _rates(boot)  # (B, G, M)
            group_ci = _percentile_interval(boot_rates, ci)
            overall_ci = _percentile_interval(_rates(boot.sum(axis=1)), ci)
        else:
            boot_rates = None
            group_ci, overall_ci = nan_g, nan_m

        # Frames are built from 2-D blocks with prebuilt column labels: with thousands of
        # audits (monitoring windows, simulations) pandas' per-column overhead dominates.
        rate_block = np.concatenate([point, group_ci.transpose(1, 2, 0).reshape(len(index), -1)], 1)
        self.by_group = pd.DataFrame(rate_block, index=index, columns=_RATE_COLUMNS.copy())
        self.by_group.insert(0, "count", sizes.astype(np.int64))
        self.by_group["small_group"] = sizes < min_group_size
        overall = np.concatenate([[sizes.sum()], point_all, overall_ci.T.ravel()])
        self.overall = pd.Series(overall, index=_OVERALL_INDEX.copy(), name="overall")

        # Gaps between groups (or to the reference), with intervals.
        diff, ratio = _disparities(point, ref_pos)
        if boot_rates is not None:
            diff_b, ratio_b = _disparities(boot_rates, ref_pos)
            diff_ci = _percentile_interval(diff_b, ci)
            ratio_ci = _percentile_interval(ratio_b, ci)
        else:
            diff_ci = ratio_ci = nan_m
        self._difference = pd.DataFrame(
            np.column_stack([diff, diff_ci[0], diff_ci[1]]),
            index=_METRIC_INDEX.copy(),
            columns=_VALUE_COLUMNS.copy(),
        )
        self._ratio = pd.DataFrame(
            np.column_stack([ratio, ratio_ci[0], ratio_ci[1]]),
            index=_METRIC_INDEX.copy(),
            columns=_VALUE_COLUMNS.copy(),
        )

        # Disparate impact of the favourable outcome, from the same replicates.
        fav_cols = [0, 1] if favorable_is_positive else [2, 3]
        fav = table[:, fav_cols].sum(axis=1)
        boot_fav = boot[:, :, fav_cols].sum(axis=2) if boot is not None else None
        boot_tot = boot.sum(axis=2) if boot is not None else None
        self.disparate_impact, di_ref_pos = _disparate_impact_frame(
            index, fav, sizes, boot_fav, boot_tot, ref_pos, ci, min_group_size, _USER_STACKLEVEL
        )
        self.reference_group = None if di_ref_pos is None else _py(index[di_ref_pos])

    def difference(self, metrics=None) -> pd.DataFrame:
        """Largest gap per metric, with its bootstrap interval.

        Without a reference group this is Fairlearn's ``between_groups``
        difference, ``max - min`` over groups. With one it is the largest
        absolute difference between any group and the reference (Fairlearn's
        ``to_overall`` with the reference in place of the overall value).

        Parameters
        ----------
        metrics : str or list of str, optional
            Rates from :data:`METRICS`; default all.

        Returns
        -------
        pandas.DataFrame
            Indexed by metric, columns ``value, ci_low, ci_high``.
        """
        return self._difference.loc[_check_metrics(metrics)].copy()

    def ratio(self, metrics=None) -> pd.DataFrame:
        """Smallest ratio per metric, with its bootstrap interval.

        Without a reference group this is Fairlearn's ``between_groups`` ratio,
        ``min / max`` over groups. With one it is the smallest of
        ``min(m_g / m_ref, m_ref / m_g)`` over the other groups ``g``.

        Parameters
        ----------
        metrics : str or list of str, optional
            Rates from :data:`METRICS`; default all.

        Returns
        -------
        pandas.DataFrame
            Indexed by metric, columns ``value, ci_low, ci_high``.
        """
        return self._ratio.loc[_check_metrics(metrics)].copy()

    def passes(self, threshold=0.8) -> bool:
        """Whether every group's disparate impact is at least ``threshold``.

        The four-fifths rule of thumb uses ``threshold=0.8`` on the point
        estimates. Groups whose ratio is undefined (the reference group has no
        favourable outcomes and neither has the group) are skipped with an
        :class:`UndefinedMetricWarning`.
        """
        if not isinstance(threshold, numbers.Real) or not 0 < threshold:
            raise ValueError(f"threshold must be a positive number such as 0.8, got {threshold!r}.")
        di = self.disparate_impact["disparate_impact"]
        if di.isna().any():
            warnings.warn(
                f"disparate_impact is undefined for group(s) "
                f"{[_py(g) for g in di.index[di.isna()]]} "
                "(reference rate 0); they are skipped by passes().",
                UndefinedMetricWarning,
                stacklevel=2,
            )
        return self._passes(threshold)

    def _passes(self, threshold):
        di = self.disparate_impact["disparate_impact"]
        return bool((di[di.notna()] >= threshold).all())

    def summary(self) -> dict:
        """The headline fairness metrics as plain floats.

        ``demographic_parity_difference`` / ``_ratio`` are the selection-rate
        difference and ratio; ``equalized_odds_difference`` is the larger of the
        true- and false-positive-rate differences and ``equalized_odds_ratio``
        the smaller of their ratios (Fairlearn's ``worst_case``);
        ``disparate_impact`` is the smallest group's; ``reference_group`` is the
        disparate-impact reference.
        """
        diff = self._difference["value"]
        ratio = self._ratio["value"]
        di = self.disparate_impact["disparate_impact"].to_numpy(dtype=float)
        return {
            "demographic_parity_difference": float(diff["selection_rate"]),
            "demographic_parity_ratio": float(ratio["selection_rate"]),
            "equalized_odds_difference": _nan_extreme(
                diff[["true_positive_rate", "false_positive_rate"]], max
            ),
            "equalized_odds_ratio": _nan_extreme(
                ratio[["true_positive_rate", "false_positive_rate"]], min
            ),
            "disparate_impact": _nan_extreme(di, min),
            "reference_group": self.reference_group,
        }

    def to_dict(self) -> dict:
        """Everything as JSON-ready Python types (NaN and infinity become None).

        Group labels are kept as values (lists for intersections) under
        ``"group"``; mappings are keyed by the label as a string
        (``"female, 30-39"`` for intersections).
        """
        overall = {k: _json(v) for k, v in self.overall.items()}
        overall["count"] = int(self.counts.to_numpy().sum())
        by_group = {}
        for label, row in self.by_group.iterrows():
            record = {"group": _json(label)}
            record.update({k: _json(v) for k, v in row.items()})
            record["count"] = int(row["count"])
            record["small_group"] = bool(row["small_group"])
            by_group[_label_str(label)] = record
        di = {}
        for label, row in self.disparate_impact.iterrows():
            record = {"group": _json(label)}
            record.update({k: _json(v) for k, v in row.items()})
            di[_label_str(label)] = record
        settings = {k: _json(v) for k, v in self.settings.items()}
        return {
            "settings": settings,
            "overall": overall,
            "by_group": by_group,
            "difference": _frame_json(self._difference),
            "ratio": _frame_json(self._ratio),
            "disparate_impact": {
                "reference_group": _json(self.reference_group),
                "passes_four_fifths": self._passes(0.8),
                "groups": di,
            },
            "summary": {k: _json(v) for k, v in self.summary().items()},
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"AuditResult({len(self.by_group)} groups, {int(self.counts.to_numpy().sum())} rows; "
            f"demographic_parity_difference={s['demographic_parity_difference']:.4g}, "
            f"equalized_odds_difference={s['equalized_odds_difference']:.4g}, "
            f"disparate_impact={s['disparate_impact']:.4g} vs {s['reference_group']!r})"
        )


# ---------------------------------------------------------------------------
# Metrics from counts (vectorised over any leading axes)
# ---------------------------------------------------------------------------


def _divide(num, den):
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _rates(counts) -> np.ndarray:
    """Every rate in METRICS from counts of shape (..., 4) -> shape (..., len(METRICS))."""
    counts = np.asarray(counts, dtype=np.float64)
    tp, fp, fn, tn = (counts[..., i] for i in range(4))
    n = tp + fp + fn + tn
    positives, negatives = tp + fn, fp + tn
    tpr = _divide(tp, positives)
    tnr = _divide(tn, negatives)
    return np.stack(
        [
            _divide(tp + fp, n),
            tpr,
            _divide(fp, negatives),
            _divide(fn, positives),
            tnr,
            _divide(tp, tp + fp),
            _divide(tp + tn, n),
            (tpr + tnr) / 2,
        ],
        axis=-1,
    )


def _disparities(values, ref_pos):
    """Largest difference and smallest ratio over the group axis (-2) of (..., G, M)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if ref_pos is None:
            valid = ~np.isnan(values)
            top = np.max(np.where(valid, values, -np.inf), axis=-2)
            bottom = np.min(np.where(valid, values, np.inf), axis=-2)
            defined = valid.any(axis=-2)
            diff = np.where(defined, top - bottom, np.nan)
            ratio = np.where(defined, bottom / top, np.nan)
            return diff, ratio
        ref = np.take(values, [ref_pos], axis=-2)
        others = np.delete(values, ref_pos, axis=-2)
        gaps = np.abs(others - ref)
        quotient = others / ref
        ratios = np.where(quotient > 1, 1 / quotient, quotient)
        return _nan_reduce(gaps, np.max, -np.inf), _nan_reduce(ratios, np.min, np.inf)


def _nan_reduce(values, func, fill):
    valid = ~np.isnan(values)
    reduced = func(np.where(valid, values, fill), axis=-2, initial=fill)
    return np.where(valid.any(axis=-2), reduced, np.nan)


def _percentile_interval(samples, ci):
    """Percentile interval along axis 0, NaN replicates dropped -> shape (2, ...)."""
    ordered = np.sort(samples, axis=0)  # NaN sorts last
    k = (~np.isnan(ordered)).sum(axis=0)
    out = np.full((2,) + ordered.shape[1:], np.nan)
    for i, q in enumerate(((1 - ci) / 2, (1 + ci) / 2)):
        pos = q * np.maximum(k - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
        a = np.take_along_axis(ordered, lo[None], axis=0)[0]
        b = np.take_along_axis(ordered, hi[None], axis=0)[0]
        with np.errstate(invalid="ignore"):
            value = np.where(a == b, a, a + (pos - lo) * (b - a))
        out[i] = np.where(k > 0, value, np.nan)
    return out


def _multinomial(cells, n_boot, rng):
    cells = np.asarray(cells, dtype=np.int64)
    total = int(cells.sum())
    return rng.multinomial(total, cells / total, size=n_boot)


def _disparate_impact_frame(
    index, fav, total, boot_fav, boot_tot, ref_pos, ci, min_group_size, stacklevel
):
    rate = _divide(fav.astype(float), total.astype(float))
    if ref_pos is None and not np.isnan(rate).all():
        eligible = (total >= min_group_size) & ~np.isnan(rate)
        if not eligible.any():
            eligible = ~np.isnan(rate)
        ref_pos = int(np.argmax(np.where(eligible, rate, -np.inf)))
    others = [i for i in range(len(index)) if i != ref_pos]
    nan = np.full(len(others), np.nan)
    columns = dict.fromkeys(_DI_COLUMNS[:5], nan)
    if ref_pos is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            di = rate[others] / rate[ref_pos]
        columns["favorable_rate"] = rate[others]
        columns["reference_rate"] = np.full(len(others), rate[ref_pos])
        columns["disparate_impact"] = di
        if boot_fav is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                boot_rate = boot_fav / boot_tot
                boot_di = boot_rate[:, others] / boot_rate[:, [ref_pos]]
            columns["ci_low"], columns["ci_high"] = _percentile_interval(boot_di, ci)
        undefined = np.isnan(di)
        if undefined.any():
            warnings.warn(
                f"disparate_impact is undefined (NaN) for group(s) "
                f"{[_py(g) for g in index[others][undefined]]}: 0 / 0, neither they nor "
                f"the reference group {_py(index[ref_pos])!r} have favourable outcomes.",
                UndefinedMetricWarning,
                stacklevel=stacklevel,
            )
    frame = pd.DataFrame(
        np.column_stack(list(columns.values())), index=index[others], columns=_DI_FLOAT.copy()
    )
    frame["count"] = total[others].astype(np.int64)
    frame["small_group"] = total[others] < min_group_size
    frame.attrs["reference_group"] = None if ref_pos is None else _py(index[ref_pos])
    return frame, ref_pos


def _warn_undefined(point, point_all, index, stacklevel):
    """One warning listing every (metric, groups) pair whose point estimate is NaN."""
    problems = []
    for j, metric in enumerate(METRICS):
        undefined = np.isnan(point[:, j])
        where = [repr(_py(g)) for g in index[undefined]]
        if np.isnan(point_all[j]):
            where.append("overall")
        if where:
            problems.append(f"{metric} for {', '.join(where)} ({_UNDEFINED_BECAUSE[metric]})")
    if problems:
        warnings.warn(
            "Undefined metrics are reported as NaN: " + "; ".join(problems) + ".",
            UndefinedMetricWarning,
            stacklevel=stacklevel,
        )


def _nan_extreme(values, func):
    values = [float(v) for v in np.asarray(values, dtype=float) if not math.isnan(v)]
    return func(values) if values else float("nan")


# ---------------------------------------------------------------------------
# Input checking and coding
# ---------------------------------------------------------------------------


def _as_1d(values, name):
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


def _sensitive_columns(sensitive_features):
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
            col, idx = _as_1d(col, f"sensitive_features[{key!r}]")
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


def _check_indexes_agree(named_indexes):
    named_indexes = [(name, idx) for name, idx in named_indexes if idx is not None]
    for (name_a, a), (name_b, b) in zip(named_indexes, named_indexes[1:], strict=False):
        if len(a) == len(b) and not a.equals(b):
            raise ValueError(
                f"{name_a} and {name_b} are pandas objects with different indexes; audit pairs "
                "rows by position, so this is probably a misalignment. Align them first, or pass "
                "`.to_numpy()` / `.reset_index(drop=True)` if pairing by position is intended."
            )


def _missing_message(name, codes):
    where = np.flatnonzero(codes < 0)
    shown = ", ".join(str(i) for i in where[:5]) + (", ..." if len(where) > 5 else "")
    return f"{name} has {len(where)} missing value(s) (NaN/None) at row position(s) {shown}"


def _positive_mask(values, name):
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
            f"{_missing_message(name, codes)}. Labels must be known for every row: drop or "
            "impute those rows before auditing."
        )
    uniques = list(uniques)

    def mask(pos_label):
        hits = [i for i, u in enumerate(uniques) if _same(u, pos_label)]
        if not hits:
            return np.zeros(len(codes), dtype=bool)
        return codes == hits[0]

    return mask, uniques


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _union_labels(*label_lists):
    labels = []
    for values in label_lists:
        for value in values:
            if not any(_same(value, seen) for seen in labels):
                labels.append(value)
    return labels


def _check_labels(labels, labels_true, labels_pred, pos_label, favorable_label):
    if len(labels) > 2:
        shown = _shown(labels)
        raise ValueError(
            f"y_true and y_pred together hold {len(labels)} distinct labels ({shown}; y_true "
            f"{len(labels_true)}, y_pred {len(labels_pred)}); audit needs binary labels. "
            "Threshold scores first (e.g. `(scores >= 0.5).astype(int)`), or compare one class "
            "against the rest (`y == cls`)."
        )
    for arg, value in (("pos_label", pos_label), ("favorable_label", favorable_label)):
        if value is None and arg == "favorable_label":
            continue
        if any(_same(value, label) for label in labels):
            continue
        # One numeric class only (e.g. all 0): the other class simply did not occur.
        if len(labels) == 1 and _is_number(value) and _is_number(labels[0]):
            continue
        raise ValueError(
            f"{arg}={value!r} does not occur in y_true or y_pred, whose labels are "
            f"{_shown(labels)}. Pass {arg}= one of them"
            + (f", e.g. {arg}={labels[-1]!r}." if labels else ".")
        )


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number | np.bool_) and not isinstance(value, str)


def _shown(labels, limit=6):
    shown = [_json(v) for v in labels[:limit]]
    return repr(shown)[:-1] + (", ...]" if len(labels) > limit else "]")


def _factorize_column(col, name, missing_group):
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
                f"{_missing_message(f'sensitive feature {name!r}', codes)}. Pass "
                "missing_group='missing' (any label) to audit those rows as a group of their "
                "own, or drop or impute them."
            )
        hits = [i for i, level in enumerate(levels) if _same(level, missing_group)]
        if hits:
            code = hits[0]
        else:
            code = len(levels)
            levels.append(missing_group)
        codes = np.where(missing, code, codes)
    return codes.astype(np.int64), levels


def _group_codes(columns, names, missing_group):
    """One integer code per row for its group (intersection), and the group index."""
    coded = [
        _factorize_column(col, name, missing_group)
        for col, name in zip(columns, names, strict=True)
    ]
    if len(coded) == 1:
        codes, levels = coded[0]
        return codes, pd.Index(levels, name=names[0], tupleize_cols=False)
    sizes = [len(levels) for _, levels in coded]
    combined = np.zeros(len(coded[0][0]), dtype=np.int64)
    for (codes, _), size in zip(coded, sizes, strict=True):
        combined = combined * size + codes
    if math.prod(sizes) <= _DENSE_INTERSECTION_LIMIT:
        present = np.flatnonzero(np.bincount(combined, minlength=math.prod(sizes)))
        remap = np.full(math.prod(sizes), -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        group_codes = remap[combined]
    else:
        present, group_codes = np.unique(combined, return_inverse=True)
    parts = np.unravel_index(present, sizes)
    arrays = [pd.Index(levels)[part] for (_, levels), part in zip(coded, parts, strict=True)]
    return group_codes, pd.MultiIndex.from_arrays(arrays, names=names)


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


def _as_count_series(values, name):
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if len(series) == 0:
        raise ValueError(f"{name} is empty: give one count per group.")
    if series.isna().any():
        raise ValueError(f"{name} contains missing values; give a count for every group.")
    numeric = series.to_numpy(dtype=float)
    if (numeric < 0).any() or (numeric != np.round(numeric)).any():
        raise ValueError(f"{name} must hold non-negative integer counts, not rates.")
    return series


def _check_settings(ci, n_boot, min_group_size):
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


def _locate_group(index, group):
    if group is None:
        return None
    try:
        pos = index.get_loc(group)
    except (KeyError, TypeError, ValueError):
        pos = None
    if not isinstance(pos, numbers.Integral):
        groups = [_json(g) for g in index[:20]]
        hint = " (a tuple with one value per feature)" if isinstance(index, pd.MultiIndex) else ""
        raise ValueError(
            f"reference_group={group!r} is not among the groups {groups}"
            + (" ..." if len(index) > 20 else "")
            + f". Pass one of them{hint}, or None to compare the extreme groups."
        )
    return int(pos)


def _rng(random_state):
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(2**31 - 1)
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"random_state must be None, an int or a numpy Generator, got {random_state!r}."
        ) from exc


def _check_metrics(metrics):
    if metrics is None:
        return list(METRICS)
    selected = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in selected if m not in METRICS]
    if unknown:
        raise ValueError(f"Unknown metric(s) {unknown}; choose from {list(METRICS)}.")
    return selected


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


def _json(value):
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.random.Generator | np.random.RandomState):
        return type(value).__name__
    return str(value)


def _py(label):
    """A group label as plain Python values (numpy scalars unwrapped), for messages and dicts."""
    if isinstance(label, tuple):
        return tuple(_py(v) for v in label)
    return label.item() if isinstance(label, np.generic) else label


def _label_str(label):
    if isinstance(label, tuple):
        return ", ".join(str(_json(v)) for v in label)
    return str(_json(label))


def _frame_json(frame):
    return {
        str(metric): {col: _json(val) for col, val in row.items()}
        for metric, row in frame.iterrows()
    }
