"""Small groups flagged by each rate's own denominator; verdicts that can be inconclusive."""

import numpy as np
import pandas as pd
import pytest

from fairaudit.metrics import audit, audit_from_counts


def counts(**groups):
    return pd.DataFrame(groups, index=["tp", "fp", "fn", "tn"]).T


def test_a_rate_is_flagged_by_its_own_denominator_not_the_group_size():
    # "others": 140 rows but only 10 positives (TPR 3/10) and 12 predicted positives.
    result = audit_from_counts(
        counts(large=[300, 100, 200, 1400], others=[3, 9, 7, 121]), n_boot=0, min_group_size=30
    )
    den = result.denominators()
    assert den.loc["others", "true_positive_rate"] == 10  # tp + fn, by hand
    assert den.loc["others", "false_positive_rate"] == 130  # fp + tn
    assert den.loc["others", "precision"] == 12  # tp + fp
    assert den.loc["others", "selection_rate"] == 140
    assert not result.by_group.loc["others", "small_group"]  # 140 rows: not small by size
    small = result.small_rates()
    assert small.loc["others", "true_positive_rate"] and small.loc["others", "precision"]
    assert not small.loc["others", "false_positive_rate"]
    assert not small.loc["large"].any()
    shown = result.flagged(["true_positive_rate", "false_positive_rate"])
    assert shown.loc["others", "true_positive_rate"] == "0.300 †"
    assert shown.loc["others", "false_positive_rate"] == f"{9 / 130:.3f}"
    assert shown.loc["large", "true_positive_rate"] == "0.600"


def test_denominators_agree_with_counting_rows():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    g = rng.choice(["a", "b", "c"], 500, p=[0.7, 0.25, 0.05])
    den = audit(y, p, g, n_boot=0).denominators()
    for group in "abc":
        mine = g == group
        assert den.loc[group, "true_positive_rate"] == (mine & (y == 1)).sum()
        assert den.loc[group, "false_positive_rate"] == (mine & (y == 0)).sum()
        assert den.loc[group, "precision"] == (mine & (p == 1)).sum()
        assert den.loc[group, "balanced_accuracy"] == min(
            (mine & (y == 1)).sum(), (mine & (y == 0)).sum()
        )


@pytest.mark.parametrize(
    ("fav_b", "n_b", "expected"),
    [
        (72, 100, "inconclusive"),  # DI 0.72/0.9 = 0.80, interval on both sides of 0.8
        (2000, 2500, "passes"),  # DI 0.89 with a narrow interval above 0.8
        (1300, 2500, "fails"),  # DI 0.58 with a narrow interval below 0.8
    ],
)
def test_four_fifths_verdict_is_inconclusive_when_the_interval_straddles(fav_b, n_b, expected):
    # favourable = predicted 0: fn + tn; group a approves 90 % of 5,000 rows
    table = counts(
        a=[250, 250, 2250, 2250],
        b=[(n_b - fav_b) // 2, n_b - fav_b - (n_b - fav_b) // 2, fav_b // 2, fav_b - fav_b // 2],
    )
    result = audit_from_counts(table, favourable_label=0, n_boot=1000, random_state=0)
    di = result.disparate_impact.loc["b"]
    assert di["disparate_impact"] == pytest.approx((fav_b / n_b) / 0.9)
    assert result.verdict(0.8) == expected
    straddles = di["ci_low"] < 0.8 <= di["ci_high"]
    assert straddles == (expected == "inconclusive")
    # the point-estimate rule alone cannot say "inconclusive"
    assert result.passes(0.8) in (True, False)


def test_verdict_without_intervals_uses_the_point_estimates():
    above = counts(a=[250, 250, 2250, 2250], b=[13, 14, 36, 37])  # 0.73 / 0.9 = 0.81
    below = counts(a=[250, 250, 2250, 2250], b=[20, 20, 30, 30])  # 0.60 / 0.9 = 0.67
    assert audit_from_counts(above, favourable_label=0, n_boot=0).verdict(0.8) == "passes"
    result = audit_from_counts(below, favourable_label=0, n_boot=0)
    assert result.verdict(0.8) == "fails"
    with pytest.raises(ValueError, match="positive number"):
        result.verdict(0)


@pytest.mark.parametrize(
    ("value", "low", "high", "bound", "at_most", "expected"),
    [
        (0.03, 0.01, 0.04, 0.05, True, "passes"),
        (0.04, 0.02, 0.08, 0.05, True, "inconclusive"),
        (0.09, 0.06, 0.12, 0.05, True, "fails"),
        (0.79, 0.65, 0.90, 0.8, False, "inconclusive"),  # MARRIAGE-like: DI straddles 0.8
        (0.85, 0.81, 0.90, 0.8, False, "passes"),
        (0.70, 0.60, 0.78, 0.8, False, "fails"),
        (0.04, np.nan, np.nan, 0.05, True, "passes"),
    ],
)
def test_interval_verdict(value, low, high, bound, at_most, expected):
    from fairaudit.metrics import interval_verdict

    assert interval_verdict(value, low, high, bound, at_most=at_most) == expected


def test_gap_takes_the_larger_rate_gap_with_its_own_interval():
    rng = np.random.default_rng(2)
    y, g = rng.integers(0, 2, 3000), rng.choice(["a", "b"], 3000)
    p = (rng.random(3000) < np.where(y == 1, np.where(g == "a", 0.8, 0.6), 0.2)).astype(int)
    result = audit(y, p, g, n_boot=300, random_state=0)
    diff = result.difference(["true_positive_rate", "false_positive_rate"])
    eod = result.gap("equalized_odds_difference")
    assert eod["value"] == pytest.approx(result.summary()["equalized_odds_difference"])
    assert eod["value"] == pytest.approx(diff.loc["true_positive_rate", "value"])  # TPR gap ~0.2
    assert eod["ci_low"] == pytest.approx(diff.loc["true_positive_rate", "ci_low"])
    dpd = result.gap("demographic_parity_difference")
    assert dpd["value"] == pytest.approx(result.summary()["demographic_parity_difference"])
    with pytest.raises(ValueError, match="gap must be one of"):
        result.gap("accuracy")
