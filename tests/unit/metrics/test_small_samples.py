"""Rates resting on few cases: Wilson intervals, gaps inside their intervals, rates left out.

A single group's rate gets the Wilson score interval of its own counts, checked
against SciPy's ``binomtest`` and by its exact coverage; a gap lies inside its
own interval under any counts (Hypothesis); ``min_denominator`` leaves thin rates
out of a gap's point and interval alike, and says which and why.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom, binomtest

from fairaudit.metrics import (
    METRICS,
    UndefinedMetricWarning,
    audit_from_counts,
    wilson_interval,
)


def counts(**groups):
    return pd.DataFrame(groups, index=["tp", "fp", "fn", "tn"]).T


def quiet(table, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return audit_from_counts(table, **kwargs)


@pytest.mark.parametrize("ci", [0.9, 0.95, 0.99])
def test_wilson_interval_is_scipys(ci):
    pairs = [(k, n) for n in (1, 2, 3, 7, 30) for k in range(n + 1)] + [(13, 400), (399, 400)]
    low, high = wilson_interval([k for k, _ in pairs], [n for _, n in pairs], ci)
    for (k, n), lo, hi in zip(pairs, low, high, strict=True):
        expected = binomtest(k, n).proportion_ci(confidence_level=ci, method="wilson")
        assert (lo, hi) == pytest.approx((expected.low, expected.high), abs=1e-12), (k, n)
    assert np.isnan(wilson_interval(0, 0)).all()


def exact_coverage(interval, n, p, ci=0.95):
    """Probability that the interval of k ~ Binomial(n, p) covers p, by enumeration."""
    k = np.arange(n + 1)
    low, high = interval(k, n, ci)
    return binom.pmf(k, n, p)[(low <= p) & (p <= high)].sum()


def percentile_bootstrap(k, n, ci):
    """The percentile bootstrap of k / n: quantiles of Binomial(n, k / n) / n."""
    return binom.ppf((1 - ci) / 2, n, k / n) / n, binom.ppf((1 + ci) / 2, n, k / n) / n


@pytest.mark.parametrize("n", [2, 5, 10, 30, 100, 1000])
def test_wilson_keeps_its_coverage_where_the_bootstrap_loses_it(n):
    """Exact coverage over true rates from 0.01 to 0.99: Wilson stays near 95 % at any n."""
    ps = np.linspace(0.01, 0.99, 99)
    wilson = np.array([exact_coverage(wilson_interval, n, p) for p in ps])
    boot = np.array([exact_coverage(percentile_bootstrap, n, p) for p in ps])
    assert 0.945 <= wilson.mean() <= 0.97, wilson.mean()
    assert wilson.min() >= 0.82  # the known dips of a discrete interval, never a collapse
    if n <= 30:  # the bootstrap gives [0, 0] or [1, 1] at rates of 0 or 1: far below 95 %
        assert boot.mean() < 0.9 and boot.min() < 0.3
    else:
        assert abs(boot.mean() - wilson.mean()) < 0.04  # with many cases both work


def test_balanced_accuracy_interval_covers_the_mean_of_two_rates():
    """MOVER from two Wilson intervals: exact coverage over both rates' counts, 95 % on average."""
    from fairaudit.metrics._counts import rate_intervals

    grid = np.linspace(0.05, 0.95, 9)
    for pos, neg, worst in [(3, 8, 0.88), (10, 40, 0.92), (60, 200, 0.94)]:
        k1, k2 = np.meshgrid(np.arange(pos + 1), np.arange(neg + 1), indexing="ij")
        table = np.stack([k1, neg - k2, pos - k1, k2], axis=-1)  # tp, fp, fn, tn
        low, high = rate_intervals(table, 0.95)[..., -1]
        coverage = []
        for tpr in grid:
            for tnr in grid:
                truth = (tpr + tnr) / 2
                weight = np.outer(binom.pmf(np.arange(pos + 1), pos, tpr),
                                  binom.pmf(np.arange(neg + 1), neg, tnr))  # fmt: skip
                coverage.append(weight[(low <= truth) & (truth <= high)].sum())
        assert 0.945 <= np.mean(coverage) <= 0.965 and min(coverage) >= worst, (pos, neg)


def test_a_group_rate_from_two_cases_has_a_wide_interval_not_a_point():
    # "others": 2 actual negatives, both approved wrongly: FPR 2/2 (the credit study's case)
    result = quiet(counts(large=[300, 100, 200, 1400], others=[3, 2, 7, 0]), n_boot=200,
                   random_state=0)  # fmt: skip
    row = result.by_group.loc["others"]
    assert row["false_positive_rate"] == 1.0
    expected = binomtest(2, 2).proportion_ci(method="wilson")
    assert (row["false_positive_rate_ci_low"], row["false_positive_rate_ci_high"]) == (
        pytest.approx((expected.low, expected.high))
    )
    assert row["false_positive_rate_ci_low"] < 0.5
    # every rate's interval is its own counts' Wilson interval
    den = result.denominators()
    for metric in METRICS[:-1]:
        for group in ("large", "others"):
            n = den.loc[group, metric]
            k = round(result.by_group.loc[group, metric] * n)
            lo, hi = wilson_interval(k, n)
            got = result.by_group.loc[group, [f"{metric}_ci_low", f"{metric}_ci_high"]]
            assert tuple(got) == pytest.approx((lo, hi)), (metric, group)


@st.composite
def count_tables(draw):
    n_groups = draw(st.integers(1, 5))
    cells = st.integers(0, 40)
    table = [[draw(cells) for _ in range(4)] for _ in range(n_groups)]
    if sum(map(sum, table)) == 0:
        table[0][3] = 1
    return counts(**{f"g{i}": row for i, row in enumerate(table)})


@given(count_tables(), st.sampled_from([None, 0]), st.sampled_from([0, 5, 30]),
       st.integers(0, 2**16))  # fmt: skip
def test_every_gap_lies_inside_its_interval(table, reference, min_denominator, seed):
    ref = None if reference is None else table.index[reference]
    result = quiet(table, n_boot=60, random_state=seed, reference_group=ref)
    for frame in (result.difference(min_denominator=min_denominator),
                  result.ratio(min_denominator=min_denominator)):  # fmt: skip
        defined = frame.dropna(subset=["value", "ci_low"])
        assert (defined["ci_low"] <= defined["value"]).all(), frame
        assert (defined["value"] <= defined["ci_high"]).all(), frame
    di = result.disparate_impact.dropna(subset=["disparate_impact", "ci_low"])
    assert (di["ci_low"] <= di["disparate_impact"]).all()
    assert (di["disparate_impact"] <= di["ci_high"]).all()
    rates = result.by_group.dropna(subset=list(METRICS))
    for metric in METRICS:
        assert (rates[f"{metric}_ci_low"] <= rates[metric]).all()
        assert (rates[metric] <= rates[f"{metric}_ci_high"]).all()


def test_a_gap_between_alike_groups_lies_inside_its_interval():
    """Alike groups: every replicate's max - min exceeds the observed one, often enough that
    the percentile interval misses its point (about 4 % of gaps here); it is widened to it."""
    rng = np.random.default_rng(0)
    for seed in range(40):
        table = pd.DataFrame(
            rng.multinomial(100, [0.25] * 4, size=5), columns=["tp", "fp", "fn", "tn"]
        )
        gaps = audit_from_counts(table, n_boot=200, random_state=seed).difference()
        assert (gaps["ci_low"] <= gaps["value"]).all() and (gaps["value"] <= gaps["ci_high"]).all()


def test_min_denominator_leaves_thin_rates_out_of_point_and_interval_and_says_why():
    table = counts(a=[300, 100, 200, 1400], b=[150, 60, 100, 690], c=[1, 1, 0, 8])
    result = quiet(table, n_boot=400, random_state=1)
    full = result.difference(["true_positive_rate", "false_positive_rate"])
    thin = result.difference(["true_positive_rate", "false_positive_rate"], min_denominator=30)
    tpr = result.by_group["true_positive_rate"]
    assert full.loc["true_positive_rate", "value"] == pytest.approx(tpr.max() - tpr.min())
    assert thin.loc["true_positive_rate", "value"] == pytest.approx(abs(tpr["a"] - tpr["b"]))
    assert thin["left_out"].tolist() == [("c",), ("c",)]  # 1 actual positive, 9 negatives
    five = result.difference(["true_positive_rate", "false_positive_rate"], min_denominator=5)
    assert five["left_out"].tolist() == [("c",), ()]
    assert five.loc["true_positive_rate", "value"] == pytest.approx(abs(tpr["a"] - tpr["b"]))
    assert five.loc["false_positive_rate", "value"] == full.loc["false_positive_rate", "value"]
    # the interval is computed without c too: it lies around the a-b gap, not c's extreme rate
    assert thin.loc["true_positive_rate", "ci_high"] < full.loc["true_positive_rate", "ci_high"]
    assert (thin["ci_low"] <= thin["value"]).all() and (thin["value"] <= thin["ci_high"]).all()
    left = result.left_out(30, ["true_positive_rate"])
    assert left.to_dict("records") == [
        {"metric": "true_positive_rate", "group": "c", "denominator": 1,
         "why": "1 rows with y_true == pos_label, fewer than 30"}
    ]  # fmt: skip
    # min_denominator=0 is the default audit, from the same replicates
    pd.testing.assert_frame_equal(result.difference(min_denominator=0), result.difference())
    gap = result.gap("equalized_odds_difference", min_denominator=30)
    assert gap["value"] == pytest.approx(thin["value"].max())
    with pytest.raises(ValueError, match="min_denominator must be a non-negative integer"):
        result.difference(min_denominator=2.5)


def test_a_reference_group_with_too_few_cases_leaves_the_gap_undefined():
    table = counts(a=[300, 100, 200, 1400], b=[1, 1, 0, 8])
    result = quiet(table, n_boot=100, random_state=0, reference_group="b")
    thin = result.difference("true_positive_rate", min_denominator=30)
    assert np.isnan(thin.loc["true_positive_rate", "value"])
    assert np.isnan(thin.loc["true_positive_rate", "ci_low"])
