"""An exact, fast group-fairness audit with confidence intervals.

A *group audit* asks two questions of a binary decision system: how do its
outcomes and its errors differ between groups of people, and is a difference
real or noise? :func:`audit` answers both in one call. It reports, for every
group and for everyone, the rates Fairlearn's :class:`~fairlearn.metrics.MetricFrame`
reports (selection rate, true/false positive/negative rates, precision,
accuracy, balanced accuracy), the largest gap and the smallest ratio between
groups (Fairlearn's ``between_groups`` difference and ratio) or against a
reference group, and the *disparate impact* of the favourable outcome with the
four-fifths rule used by fairness monitors. Every number carries a confidence
interval.

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

A single group's rate is a proportion of its own denominator (a true positive
rate: true positives among the group's actual positives), and its interval is
the Wilson score interval of that proportion, which keeps its coverage where a
bootstrap does not: for few cases and for rates of 0 or 1 (2 false positives
among 2 negatives gives 0.34 to 1, where a percentile bootstrap gives 1 to 1).
Balanced accuracy, the mean of two such rates, combines their Wilson intervals
(MOVER). The gaps, ratios and disparate impact between groups get percentile
bootstrap intervals of the ordinary row bootstrap, computed without touching the
rows again: resampling ``n`` rows with replacement and counting them by
``(group, cell)`` gives counts that follow a multinomial distribution with ``n``
trials and the observed cell shares, so each replicate is one multinomial draw
of all ``(group x cell)`` counts, and a thousand replicates cost milliseconds
whatever ``n`` is.

Undefined metrics
-----------------
A rate whose denominator is zero (a true positive rate in a group without
actual positives) is undefined. Fairlearn (through scikit-learn) reports 0
there; this module reports NaN and emits one :class:`UndefinedMetricWarning`
per audit naming each such metric and its groups, so that a missing quantity is
never mistaken for a measured zero. Gaps and ratios skip undefined groups, in
the point estimate and in every bootstrap replicate alike (a replicate in which
a small group drew no positives skips it). ``difference(min_denominator=...)``
also leaves out rates resting on few rows, and says which.

A largest gap (``max - min`` over groups) is biased upwards when the groups
are truly alike: noise alone makes some group the highest, so its interval
rarely reaches 0, and its percentile interval can miss the point estimate; it
is then widened to contain it. Judge "no difference" from the per-group
intervals, not from the gap's. The disparate-impact reference group is chosen
once, on the data; replicates keep it fixed.

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

from functools import partial

import numpy as np
import pandas as pd

from fairaudit._validation import check_random_generator, same
from fairaudit.metrics._counts import disparate_impact_frame, multinomial
from fairaudit.metrics._result import AuditResult
from fairaudit.metrics._rows import (
    as_count_series,
    check_audit_settings,
    check_counts,
    count_rows,
    locate_group,
    score_counts,
)
from fairaudit.metrics._tables import table_counts, threshold_counts

__all__ = [
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
    """Audit binary decisions for group fairness, with confidence intervals.

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
        Groups are in the order of their values (a categorical's in the order of
        its categories), with ``missing_group`` last.
    data : table, optional
        A table holding the columns: pandas, Polars (eager or lazy), PyArrow, a
        DuckDB relation, a PySpark DataFrame, anything :func:`narwhals.from_native`
        reads. ``y_true``, ``y_pred`` (or ``y_score``) and ``sensitive_features``
        are then column names, as in seaborn. The engine computes the per-group
        counts where the data live and only those come back; the result equals
        the array form's on the same rows (groups of a categorical without
        declared order, such as a Polars ``Categorical``, in the order of values).
    y_score : array-like or str, optional
        Scores instead of ``y_pred``, with ``thresholds``: a row is decided
        positive at threshold ``t`` when its score is at least ``t``, compared in
        float64. Missing scores (null or NaN) are refused.
    thresholds : sequence of float, optional
        Audit every threshold from one aggregation (counts per group, label and
        score bin). The result is then a dict ``{threshold: AuditResult}``.
    pos_label : scalar, default 1
        The label counted as *positive* in selection rate, TPR, FPR, FNR, TNR
        and precision (Fairlearn's semantics). Must occur in ``y_true`` or
        ``y_pred`` (with 0/1 labels, one class may be absent).
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
        rows (among all groups if none is that large); ties go to the larger
        group, then to the first by :func:`group_key`.
    ci : float, default 0.95
        Confidence level of the intervals, in (0, 1).
    n_boot : int, default 1000
        Bootstrap replicates for the gaps, ratios and disparate impact. 0 skips
        them (their intervals are NaN; the per-group Wilson intervals remain).
    random_state : int, numpy Generator or None
        Seed for the bootstrap; results are reproducible given an int.
    min_group_size : int, default 30
        Groups with fewer rows are flagged in the ``small_group`` column.
    missing_group : scalar, optional
        Label for rows whose sensitive feature is missing (null or NaN), of the
        column's type. By default missing values raise a ``ValueError``; pass
        e.g. ``"missing"`` to audit those rows as a group of their own (same as
        ``fillna(missing_group)``).

    Returns
    -------
    AuditResult

    Raises
    ------
    ValueError
        Mismatched lengths, no rows, missing labels or scores, non-binary
        labels, ``pos_label``/``favourable_label`` not in the data,
        ``reference_group`` not among the groups, missing sensitive values
        without ``missing_group``, pandas inputs whose indexes disagree.
    TypeError
        Inputs that are not one-dimensional array-likes, a sensitive feature that
        mixes types of values, a ``missing_group`` of another type.

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
        pos_label=pos_label, favourable_label=favourable_label, reference_group=reference_group,
        ci=ci, n_boot=n_boot, random_state=random_state, min_group_size=min_group_size,
        missing_group=missing_group,
    )  # fmt: skip
    if y_score is not None or thresholds is not None:
        if y_score is None or thresholds is None or y_pred is not None:
            raise ValueError(
                "Give y_score together with thresholds, instead of y_pred: each threshold "
                "decides the rows whose score reaches it."
            )
        count = score_counts if data is None else partial(threshold_counts, data)
        by_threshold = count(
            y_true, y_score, sensitive_features, thresholds, pos_label=pos_label,
            missing_group=missing_group,
        )  # fmt: skip
        return {cut: audit_counts(counts, **settings) for cut, counts in by_threshold.items()}
    if data is not None:
        counts = table_counts(
            data, y_true, y_pred, sensitive_features,
            pos_label=pos_label, favourable_label=favourable_label, missing_group=missing_group,
        )  # fmt: skip
        return audit_counts(counts, **settings)
    if y_true is None or y_pred is None:
        raise TypeError(
            "audit needs y_true, y_pred and sensitive_features (arrays), or data= with the "
            "names of those columns."
        )
    counts = count_rows(
        y_true, y_pred, sensitive_features, pos_label, favourable_label, missing_group
    )
    return audit_counts(counts, **settings)


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
        several sensitive features, in the audit's order), integer columns
        ``tp, fp, fn, tn``.
    """
    return count_rows(y_true, y_pred, sensitive_features, pos_label, None, missing_group)


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
    return audit_counts(
        counts, pos_label=pos_label, favourable_label=favourable_label,
        reference_group=reference_group, ci=ci, n_boot=n_boot, random_state=random_state,
        min_group_size=min_group_size, missing_group=missing_group,
    )  # fmt: skip


def audit_counts(counts, **settings):
    """The :class:`AuditResult` of a count table, with the settings recorded."""
    table, index = check_counts(counts)
    check_audit_settings(settings["ci"], settings["n_boot"], settings["min_group_size"])
    ref_pos = locate_group(index, settings["reference_group"])
    rng = check_random_generator(settings["random_state"])
    pos_label, favourable_label = settings["pos_label"], settings["favourable_label"]
    favourable_is_positive = favourable_label is None or same(favourable_label, pos_label)
    settings.update(
        favourable_label=pos_label if favourable_label is None else favourable_label,
        favourable_outcome=f"y_pred {'==' if favourable_is_positive else '!='} pos_label",
        sensitive_features=[None if name is None else str(name) for name in index.names],
        interval_method="Wilson score intervals for each group's rates (MOVER for balanced "
        "accuracy); percentile bootstrap for gaps, ratios and disparate impact, by multinomial "
        "resampling of (group x confusion cell) counts, equivalent to resampling rows",
    )
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
    fav, tot = as_count_series(favourable, "favourable"), as_count_series(total, "total")
    if not fav.index.equals(tot.index):
        if set(fav.index) != set(tot.index):
            raise ValueError(
                "favourable and total must have the same groups in their index; got "
                f"{list(fav.index)} and {list(tot.index)}."
            )
        fav = fav.reindex(tot.index)
    fav_n, tot_n = fav.to_numpy(dtype=np.int64), tot.to_numpy(dtype=np.int64)
    if (fav_n > tot_n).any():
        raise ValueError(
            f"favourable exceeds total for group(s) {list(fav.index[fav_n > tot_n])}; pass "
            "counts, not rates."
        )
    check_audit_settings(ci, n_boot, min_group_size)
    ref_pos = locate_group(tot.index, reference_group)
    boot_fav = boot_tot = None
    if n_boot > 0 and tot_n.sum() > 0:
        cells = np.stack([fav_n, tot_n - fav_n], axis=1).ravel()
        draws = multinomial(cells, n_boot, check_random_generator(random_state))
        draws = draws.reshape(n_boot, -1, 2)
        boot_fav, boot_tot = draws[..., 0], draws.sum(axis=2)
    frame, _ = disparate_impact_frame(
        tot.index, fav_n, tot_n, boot_fav, boot_tot, ref_pos, ci, min_group_size, stacklevel=3
    )  # user -> disparate_impact_from_counts -> helper -> warn
    return frame
