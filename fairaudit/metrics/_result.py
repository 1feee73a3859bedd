"""The audit's result: per-group rates, gaps, ratios and disparate impact, with intervals."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd

from fairaudit._validation import check_count
from fairaudit.metrics._bootstrap import bootstrap_intervals
from fairaudit.metrics._counts import (
    COUNT_COLUMNS,
    METRICS,
    UndefinedMetricWarning,
    around_point,
    denominators,
    di_reference,
    disparate_impact_frame,
    disparities,
    nan_extreme,
    plain,
    rate_frames,
    rates,
    warn_small_groups,
    warn_undefined,
)
from fairaudit.metrics._verdicts import (
    check_di_threshold,
    combine_verdicts,
    flagged_rates,
    interval_verdict,
    left_out_rows,
    result_json,
)

METRIC_INDEX = pd.Index(METRICS, name="metric", dtype=object)
VALUE_COLUMNS = pd.Index(["value", "ci_low", "ci_high"], dtype=object)

# Warnings point at the caller of audit() / audit_from_counts(): user -> public function
# -> audit_counts -> AuditResult.__init__ -> helper -> warnings.warn.
USER_STACKLEVEL = 5

GAPS = {
    "demographic_parity_difference": ["selection_rate"],
    "equalized_odds_difference": ["true_positive_rate", "false_positive_rate"],
    "true_positive_rate_difference": ["true_positive_rate"],
    "false_positive_rate_difference": ["false_positive_rate"],
}


class AuditResult:
    """What :func:`audit` found: per-group metrics, gaps, disparate impact.

    Attributes
    ----------
    by_group : pandas.DataFrame
        One row per group: ``count``, the rates in :data:`METRICS`, for each rate
        ``<rate>_ci_low`` and ``<rate>_ci_high`` (Wilson score intervals from the
        rate's own counts; MOVER for balanced accuracy), and ``small_group``
        (fewer rows than ``min_group_size``).
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
        self.counts = pd.DataFrame(table, index=index, columns=list(COUNT_COLUMNS))
        ci, min_group_size = settings["ci"], settings["min_group_size"]
        self._table, self._ref_pos, self._gaps = table, ref_pos, {}
        sizes = table.sum(axis=1)

        self._point = point = rates(table)  # (G, M)
        warn_undefined(point, rates(table.sum(axis=0)), index, USER_STACKLEVEL)
        warn_small_groups(sizes, min_group_size, USER_STACKLEVEL - 1)
        self.by_group, self.overall = rate_frames(table, index, ci, min_group_size)

        # Gaps, ratios and disparate impact: one multinomial bootstrap of all groups' counts.
        self._fav_cols = [0, 1] if favourable_is_positive else [2, 3]
        fav = table[:, self._fav_cols].sum(axis=1)
        self._di_ref = di_reference(fav, sizes, ref_pos, min_group_size, index)
        self._rng = copy.deepcopy(rng)  # the bootstrap's start, to redraw it with rates left out
        intervals = self._bootstrap(rng, None)
        self._gaps[0] = self._gap_frames(point, intervals)
        self.disparate_impact, di_ref_pos = disparate_impact_frame(
            index, fav, sizes, None, None, self._di_ref, ci, min_group_size, USER_STACKLEVEL,
            interval=intervals["disparate_impact"],
        )  # fmt: skip
        self.reference_group = None if di_ref_pos is None else plain(index[di_ref_pos])

    def _bootstrap(self, rng, left_out):
        n_metrics = len(METRICS)
        if self.settings["n_boot"] == 0 or self._table.sum() == 0:
            nan = np.full((2, n_metrics), np.nan)
            return {"difference": nan, "ratio": nan, "disparate_impact": None}
        return bootstrap_intervals(
            self._table, self.settings["n_boot"], rng, self.settings["ci"], self._ref_pos,
            self._di_ref, self._fav_cols, left_out=left_out,
        )  # fmt: skip

    def _gap_frames(self, point, intervals):
        """(difference, ratio) frames: value, and an interval that contains it."""
        cis = (intervals["difference"], intervals["ratio"])
        return [
            pd.DataFrame(np.column_stack([v, *around_point(ci, v)]), METRIC_INDEX, VALUE_COLUMNS)
            for v, ci in zip(disparities(point, self._ref_pos), cis, strict=True)
        ]

    def _gap_table(self, kind, metrics, min_denominator):
        metrics = check_metrics(metrics)
        if not check_count(min_denominator or 0, "min_denominator"):
            return self._gaps[0][kind].loc[metrics].copy()
        if min_denominator not in self._gaps:
            left_out = denominators(self._table) < min_denominator
            point = np.where(left_out, np.nan, self._point)
            intervals = self._bootstrap(copy.deepcopy(self._rng), left_out)
            self._gaps[min_denominator] = self._gap_frames(point, intervals)
        frame = self._gaps[min_denominator][kind].loc[metrics].copy()
        out = self.left_out(min_denominator, metrics)
        frame["left_out"] = [tuple(out["group"][out["metric"] == m]) for m in metrics]
        return frame

    def difference(self, metrics=None, *, min_denominator=None) -> pd.DataFrame:
        """Largest gap per metric, with its bootstrap interval.

        Without a reference group this is Fairlearn's ``between_groups``
        difference, ``max - min`` over groups. With one it is the largest
        absolute difference between any group and the reference (Fairlearn's
        ``to_overall`` with the reference in place of the overall value).
        Groups whose rate is undefined are skipped, in the point estimate and in
        every bootstrap replicate alike. An interval always contains its point
        (a percentile interval that misses it is widened to it).

        Parameters
        ----------
        metrics : str or list of str, optional
            Rates from :data:`METRICS`; default all.
        min_denominator : int, optional
            Leave out of the gap every group whose rate rests on fewer rows of its
            own denominator (see :meth:`denominators`), in the point and the
            interval alike; see :meth:`left_out` for which and why.

        Returns
        -------
        pandas.DataFrame
            Indexed by metric, columns ``value, ci_low, ci_high``, and with
            ``min_denominator`` the tuple of groups ``left_out``.
        """
        return self._gap_table(0, metrics, min_denominator)

    def ratio(self, metrics=None, *, min_denominator=None) -> pd.DataFrame:
        """Smallest ratio per metric, with its bootstrap interval.

        Without a reference group this is Fairlearn's ``between_groups`` ratio,
        ``min / max`` over groups. With one it is the smallest of
        ``min(m_g / m_ref, m_ref / m_g)`` over the other groups ``g``.

        Parameters
        ----------
        metrics, min_denominator
            As in :meth:`difference`.

        Returns
        -------
        pandas.DataFrame
            Indexed by metric, columns ``value, ci_low, ci_high`` (and ``left_out``).
        """
        return self._gap_table(1, metrics, min_denominator)

    def left_out(self, min_denominator, metrics=None) -> pd.DataFrame:
        """The rates that rest on fewer than ``min_denominator`` rows, and why.

        Returns
        -------
        pandas.DataFrame
            One row per (metric, group) left out: ``metric``, ``group``,
            ``denominator`` and ``why`` (e.g. ``"2 rows with y_true != pos_label,
            fewer than 30"``), so that a report can say so in one sentence.
        """
        return left_out_rows(self.denominators(), check_metrics(metrics), min_denominator)

    def passes(self, threshold=0.8) -> bool:
        """Whether every group's disparate impact is at least ``threshold``.

        The four-fifths rule of thumb uses ``threshold=0.8`` on the point
        estimates. Groups whose ratio is undefined (the reference group has no
        favourable outcomes and neither has the group) are skipped with an
        :class:`UndefinedMetricWarning`, as is an audit of a single group.

        Parameters
        ----------
        threshold : float, default 0.8
            Smallest acceptable disparate impact (positive).

        Returns
        -------
        bool
            True if no defined disparate impact is below ``threshold``.
        """
        check_di_threshold(threshold)
        di = self.disparate_impact["disparate_impact"]
        if not self._nothing_compared("passes() is True by default and says nothing") and (
            di.isna().any()
        ):
            undefined = [plain(g) for g in di.index[di.isna()]]
            warnings.warn(
                f"disparate_impact is undefined for group(s) {undefined} (reference rate 0); "
                "they are skipped by passes().",
                UndefinedMetricWarning,
                stacklevel=2,
            )
        return bool(di.dropna().ge(threshold).all())

    def _nothing_compared(self, outcome) -> bool:
        """Warn and return True when no disparate impact was compared."""
        if len(self.by_group) < 2:
            why = "The audit has a single group, so there is nothing to compare"
        elif self.disparate_impact["disparate_impact"].isna().all():
            why = "no disparate impact is defined (no group has favourable outcomes)"
        else:
            return False
        warnings.warn(f"{why}: {outcome}.", UndefinedMetricWarning, stacklevel=3)
        return True

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
        return pd.DataFrame(
            denominators(self._table).astype(np.int64), index=self.counts.index,
            columns=list(METRICS),
        )  # fmt: skip

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
        return flagged_rates(self.by_group, self.small_rates(), check_metrics(metrics), digits)

    def verdict(self, threshold=0.8) -> str:
        """The four-fifths verdict with its uncertainty: passes, fails or inconclusive.

        Each group's disparate impact is its favourable rate divided by the
        reference group's, with the bootstrap interval of that ratio. It
        ``"passes"`` when every interval lies at or above ``threshold``,
        ``"fails"`` when some interval lies wholly below it, and is
        ``"inconclusive"`` otherwise (an interval straddles the threshold).
        Without intervals (``n_boot=0``) the point estimates decide. With a
        single group, or no defined disparate impact, it is
        ``"nothing_to_compare"`` (with an :class:`UndefinedMetricWarning`).

        Parameters
        ----------
        threshold : float, default 0.8

        Returns
        -------
        str
            ``"passes"``, ``"fails"``, ``"inconclusive"`` or ``"nothing_to_compare"``.
        """
        check_di_threshold(threshold)
        if self._nothing_compared("the verdict is 'nothing_to_compare'"):
            return "nothing_to_compare"
        di = self.disparate_impact.dropna(subset=["disparate_impact"])
        return combine_verdicts(
            interval_verdict(v, lo, hi, threshold, at_most=False)
            for v, lo, hi in di[["disparate_impact", "ci_low", "ci_high"]].itertuples(index=False)
        )

    def gap(self, name: str, *, min_denominator=None) -> dict[str, float]:
        """A headline disparity with its interval: ``value, ci_low, ci_high``.

        Parameters
        ----------
        name : str
            ``"demographic_parity_difference"``, ``"equalized_odds_difference"``
            (the larger of the true- and false-positive-rate gaps, with that gap's
            interval), ``"true_positive_rate_difference"`` or
            ``"false_positive_rate_difference"``.
        min_denominator : int, optional
            As in :meth:`difference`.

        Returns
        -------
        dict
        """
        if name not in GAPS:
            raise ValueError(f"gap must be one of {sorted(GAPS)}, got {name!r}.")
        rows = self.difference(GAPS[name], min_denominator=min_denominator)
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
        diff, ratio = (frame["value"] for frame in self._gaps[0])
        odds = ["true_positive_rate", "false_positive_rate"]
        return {
            "demographic_parity_difference": float(diff["selection_rate"]),
            "demographic_parity_ratio": float(ratio["selection_rate"]),
            "equalized_odds_difference": nan_extreme(diff[odds], max),
            "equalized_odds_ratio": nan_extreme(ratio[odds], min),
            "disparate_impact": nan_extreme(self.disparate_impact["disparate_impact"], min),
            "reference_group": self.reference_group,
        }

    def to_dict(self) -> dict:
        """Everything as JSON-ready Python types (NaN and infinity become None).

        Group labels are kept as values (lists for intersections) under
        ``"group"``; mappings are keyed by :func:`~fairaudit.metrics.group_key`
        (``"female, 30-39"`` for intersections). Labels that would share a key
        (the number ``1`` and the text ``"1"``) are keyed by their ``repr``
        instead (``"1"`` and ``"'1'"``), so no group is lost.
        """
        return result_json(self)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"AuditResult({len(self.by_group)} groups, {int(self.counts.to_numpy().sum())} rows; "
            f"demographic_parity_difference={s['demographic_parity_difference']:.4g}, "
            f"equalized_odds_difference={s['equalized_odds_difference']:.4g}, "
            f"disparate_impact={s['disparate_impact']:.4g} vs {s['reference_group']!r})"
        )


def check_metrics(metrics):
    if metrics is None:
        return list(METRICS)
    selected = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in selected if m not in METRICS]
    if unknown:
        raise ValueError(f"Unknown metric(s) {unknown}; choose from {list(METRICS)}.")
    return selected
