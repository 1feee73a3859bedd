"""The audit's result: per-group rates, gaps, ratios and disparate impact, with intervals."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd

from fairaudit._io import to_jsonable
from fairaudit.metrics._bootstrap import bootstrap_intervals
from fairaudit.metrics._counts import (
    COUNT_COLUMNS,
    METRICS,
    UndefinedMetricWarning,
    _di_reference,
    _disparate_impact_frame,
    _disparities,
    _nan_extreme,
    _py,
    _rates,
    _warn_undefined,
)

#: With at least this many groups, a majority of small ones makes the audit warn.
_MANY_GROUPS = 100


def _warn_many_small_groups(sizes, min_group_size, stacklevel):
    small = int((sizes < min_group_size).sum())
    if len(sizes) >= _MANY_GROUPS and small > len(sizes) / 2:
        warnings.warn(
            f"{small:,} of {len(sizes):,} groups have fewer than {min_group_size} rows: their "
            "rates and intervals mean little (an interval from a handful of rows is too narrow "
            "to trust). Pool small groups, or audit fewer feature combinations.",
            UserWarning,
            stacklevel=stacklevel,
        )


# Column labels, built once (pandas string indexes are costly to build per call).
_METRIC_INDEX = pd.Index(METRICS, name="metric")

_RATE_COLUMNS = pd.Index(
    [*METRICS, *(f"{m}_ci_{side}" for m in METRICS for side in ("low", "high"))]
)

_OVERALL_INDEX = pd.Index(["count", *_RATE_COLUMNS])

_VALUE_COLUMNS = pd.Index(["value", "ci_low", "ci_high"])

_COUNT_INDEX = pd.Index(COUNT_COLUMNS)

# Warnings point at the caller of audit() / audit_from_counts(): user -> public function
# -> _audit_counts -> AuditResult.__init__ -> helper -> warnings.warn.
_USER_STACKLEVEL = 5


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
        Indexed by the non-reference groups: ``favourable_rate, reference_rate,
        disparate_impact, ci_low, ci_high, count, small_group``.
    reference_group : group label
        The disparate-impact reference (the given one, else the chosen one).
    settings : dict
        The arguments the audit ran with.
    """

    def __init__(self, table, index, ref_pos, favourable_is_positive, rng, settings):
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

        fav_cols = [0, 1] if favourable_is_positive else [2, 3]
        fav = table[:, fav_cols].sum(axis=1)
        di_ref = _di_reference(fav, sizes, ref_pos, min_group_size)
        nan_m = np.full((2, len(METRICS)), np.nan)
        intervals = {
            "group": np.full((2,) + point.shape, np.nan),
            "overall": nan_m,
            "difference": nan_m,
            "ratio": nan_m,
            "disparate_impact": None,
        }
        if n_boot > 0 and sizes.sum() > 0:
            intervals = bootstrap_intervals(table, n_boot, rng, ci, ref_pos, di_ref, fav_cols)
        group_ci, overall_ci = intervals["group"], intervals["overall"]
        _warn_many_small_groups(sizes, min_group_size, _USER_STACKLEVEL)

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
        diff_ci, ratio_ci = intervals["difference"], intervals["ratio"]
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
        self.disparate_impact, di_ref_pos = _disparate_impact_frame(
            index, fav, sizes, None, None, di_ref, ci, min_group_size, _USER_STACKLEVEL,
            interval=intervals["disparate_impact"],
        )  # fmt: skip
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

        Parameters
        ----------
        threshold : float, default 0.8
            Smallest acceptable disparate impact (positive).

        Returns
        -------
        bool
            True if no defined disparate impact is below ``threshold``.

        Raises
        ------
        ValueError
            If ``threshold`` is not a positive number.
        """
        _check_di_threshold(threshold)
        di = self.disparate_impact["disparate_impact"]
        if len(self.by_group) < 2:
            warnings.warn(
                "The audit has a single group, so there is nothing to compare: passes() is "
                "True by default and says nothing about fairness.",
                UndefinedMetricWarning,
                stacklevel=2,
            )
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

    def denominators(self) -> pd.DataFrame:
        """How many rows each group's rate is estimated from: its own denominator.

        A true positive rate rests on the group's actual positives, a false
        positive rate on its actual negatives, precision on its predicted
        positives, the selection rate and accuracy on all its rows, and balanced
        accuracy on the smaller of its positives and negatives. A group of 140
        rows with 10 positives has a true positive rate from 10 people.

        Returns
        -------
        pandas.DataFrame
            One row per group, one column per rate in :data:`METRICS`.
        """
        c = self.counts
        positives, negatives = c["tp"] + c["fn"], c["fp"] + c["tn"]
        rows = positives + negatives
        frame = pd.DataFrame(
            {
                "selection_rate": rows,
                "true_positive_rate": positives,
                "false_positive_rate": negatives,
                "false_negative_rate": positives,
                "true_negative_rate": negatives,
                "precision": c["tp"] + c["fp"],
                "accuracy": rows,
                "balanced_accuracy": np.minimum(positives, negatives),
            },
            index=c.index,
        )
        return frame[list(METRICS)].astype(np.int64)

    def small_rates(self, min_size: int | None = None) -> pd.DataFrame:
        """Which rates rest on fewer than ``min_size`` rows of their own denominator.

        Parameters
        ----------
        min_size : int, optional
            Defaults to the audit's ``min_group_size``.

        Returns
        -------
        pandas.DataFrame of bool
            Shaped like :meth:`denominators`; True where the rate is too thinly based.
        """
        min_size = self.settings["min_group_size"] if min_size is None else min_size
        return self.denominators() < min_size

    def flagged(self, metrics=None, *, digits: int = 3) -> pd.DataFrame:
        """Per-group rates for reading, each marked ``†`` when its own denominator is small.

        Parameters
        ----------
        metrics : list of str, optional
            Rates to show (default: every rate).
        digits : int, default 3
            Decimals shown.

        Returns
        -------
        pandas.DataFrame
            ``count`` and the rates as text, e.g. ``"0.300 †"``.
        """
        metrics = _check_metrics(metrics)
        small = self.small_rates()
        shown = pd.DataFrame(index=self.by_group.index)
        shown["count"] = self.by_group["count"]
        for m in metrics:
            values = self.by_group[m].map(lambda v: "n/a" if pd.isna(v) else f"{v:.{digits}f}")
            shown[m] = values.where(~small[m], values + " †")
        return shown

    def verdict(self, threshold=0.8) -> str:
        """The four-fifths verdict with its uncertainty: passes, fails or inconclusive.

        Each group's disparate impact is its favourable rate divided by the
        reference group's, with the bootstrap interval of that ratio. It
        ``"passes"`` when every interval lies at or above ``threshold``,
        ``"fails"`` when some interval lies wholly below it, and is
        ``"inconclusive"`` otherwise (an interval straddles the threshold). The
        ratio to one fixed reference is not the largest of several noisy gaps,
        so its interval is not biased the way a max-min gap's is. Without
        intervals (``n_boot=0``) the point estimates decide.

        Parameters
        ----------
        threshold : float, default 0.8

        Returns
        -------
        str
            ``"passes"``, ``"fails"`` or ``"inconclusive"``.
        """
        _check_di_threshold(threshold)
        di = self.disparate_impact.dropna(subset=["disparate_impact"])
        return combine_verdicts(
            interval_verdict(v, lo, hi, threshold, at_most=False)
            for v, lo, hi in di[["disparate_impact", "ci_low", "ci_high"]].itertuples(index=False)
        )

    def gap(self, name: str) -> dict[str, float]:
        """A headline disparity with its interval: ``value, ci_low, ci_high``.

        Parameters
        ----------
        name : str
            ``"demographic_parity_difference"``, ``"equalized_odds_difference"``
            (the larger of the true- and false-positive-rate gaps, with that gap's
            interval), ``"true_positive_rate_difference"`` or
            ``"false_positive_rate_difference"``.

        Returns
        -------
        dict
        """
        rates = {
            "demographic_parity_difference": ["selection_rate"],
            "equalized_odds_difference": ["true_positive_rate", "false_positive_rate"],
            "true_positive_rate_difference": ["true_positive_rate"],
            "false_positive_rate_difference": ["false_positive_rate"],
        }
        if name not in rates:
            raise ValueError(f"gap must be one of {sorted(rates)}, got {name!r}.")
        rows = self._difference.loc[rates[name]]
        row = rows.loc[rows["value"].idxmax()] if rows["value"].notna().any() else rows.iloc[0]
        return {k: float(row[k]) for k in ("value", "ci_low", "ci_high")}

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
        (``"female, 30-39"`` for intersections). Labels that would share a
        string (the number ``1`` and the text ``"1"``) are keyed by their
        ``repr`` instead (``"1"`` and ``"'1'"``), so no group is lost.
        """
        overall = {k: to_jsonable(v) for k, v in self.overall.items()}
        overall["count"] = int(self.counts.to_numpy().sum())
        keys = dict(zip(self.by_group.index, _label_keys(self.by_group.index), strict=True))
        by_group = {}
        for label, row in self.by_group.iterrows():
            record = {"group": to_jsonable(label)}
            record.update({k: to_jsonable(v) for k, v in row.items()})
            record["count"] = int(row["count"])
            record["small_group"] = bool(row["small_group"])
            by_group[keys[label]] = record
        di = {}
        for label, row in self.disparate_impact.iterrows():
            record = {"group": to_jsonable(label)}
            record.update({k: to_jsonable(v) for k, v in row.items()})
            di[keys[label]] = record
        settings = {k: to_jsonable(v) for k, v in self.settings.items()}
        return {
            "settings": settings,
            "overall": overall,
            "by_group": by_group,
            "difference": _frame_json(self._difference),
            "ratio": _frame_json(self._ratio),
            "disparate_impact": {
                "reference_group": to_jsonable(self.reference_group),
                "passes_four_fifths": self._passes(0.8),
                "groups": di,
            },
            "summary": {k: to_jsonable(v) for k, v in self.summary().items()},
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"AuditResult({len(self.by_group)} groups, {int(self.counts.to_numpy().sum())} rows; "
            f"demographic_parity_difference={s['demographic_parity_difference']:.4g}, "
            f"equalized_odds_difference={s['equalized_odds_difference']:.4g}, "
            f"disparate_impact={s['disparate_impact']:.4g} vs {s['reference_group']!r})"
        )


def _check_metrics(metrics):
    if metrics is None:
        return list(METRICS)
    selected = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in selected if m not in METRICS]
    if unknown:
        raise ValueError(f"Unknown metric(s) {unknown}; choose from {list(METRICS)}.")
    return selected


def _label_keys(index) -> list[str]:
    """One distinct string per group label (``repr`` where plain strings would collide)."""
    plain = [_label_str(label) for label in index]
    counts = {}
    for key in plain:
        counts[key] = counts.get(key, 0) + 1
    return [
        key if counts[key] == 1 else repr(_py(label))
        for key, label in zip(plain, index, strict=True)
    ]


def _label_str(label):
    if isinstance(label, tuple):
        return ", ".join(str(to_jsonable(v)) for v in label)
    return str(to_jsonable(label))


def _frame_json(frame):
    return {
        str(metric): {col: to_jsonable(val) for col, val in row.items()}
        for metric, row in frame.iterrows()
    }


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


def _check_di_threshold(threshold) -> None:
    if not isinstance(threshold, numbers.Real) or not 0 < threshold:
        raise ValueError(f"threshold must be a positive number such as 0.8, got {threshold!r}.")
