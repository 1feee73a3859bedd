"""Verdicts from intervals, at, above and below the bound, for both directions of a check.

A check ``value <= bound`` passes when its whole interval is at or below the
bound, fails when the whole interval is above it, and is inconclusive when the
interval straddles it; ``value >= bound`` is its mirror image. The expected
verdicts are written out by hand for each position of the bound.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairaudit.metrics import audit_from_counts, interval_verdict

LOW, VALUE, HIGH = 0.4, 0.5, 0.6
# position of the bound -> (verdict of "value <= bound", verdict of "value >= bound")
BY_HAND = {
    0.3: ("fails", "passes"),  # below the interval
    LOW: ("inconclusive", "passes"),  # at its lower end: ">=" holds for the whole interval
    0.45: ("inconclusive", "inconclusive"),  # inside, below the point
    0.55: ("inconclusive", "inconclusive"),  # inside, above the point
    HIGH: ("passes", "inconclusive"),  # at its upper end: "<=" holds for the whole interval
    0.7: ("passes", "fails"),  # above the interval
}


@pytest.mark.parametrize("bound", list(BY_HAND))
def test_interval_verdict_at_above_and_below_the_bound(bound):
    at_most, at_least = BY_HAND[bound]
    assert interval_verdict(VALUE, LOW, HIGH, bound, at_most=True) == at_most
    assert interval_verdict(VALUE, LOW, HIGH, bound, at_most=False) == at_least


@pytest.mark.parametrize("bound", [0.3, VALUE, 0.7])
def test_without_an_interval_the_point_decides_and_the_bound_itself_satisfies(bound):
    nan = float("nan")
    assert interval_verdict(VALUE, nan, nan, bound, at_most=True) == (
        "passes" if VALUE <= bound else "fails"
    )
    assert interval_verdict(VALUE, nan, nan, bound, at_most=False) == (
        "passes" if VALUE >= bound else "fails"
    )


ends = st.floats(-2, 2, allow_nan=False)


@settings(deadline=None)
@given(a=ends, b=ends, c=ends, bound=st.sampled_from([-1.0, 0.0, 0.5, 1.0]) | ends)
def test_verdicts_follow_the_definition_for_any_interval_and_bound(a, b, c, bound):
    low, value, high = sorted([a, b, c])
    at_most = interval_verdict(value, low, high, bound, at_most=True)
    at_least = interval_verdict(value, low, high, bound, at_most=False)
    # the definition, one direction at a time
    assert at_most == ("passes" if high <= bound else "fails" if low > bound else "inconclusive")
    assert at_least == ("passes" if low >= bound else "fails" if high < bound else "inconclusive")
    # a conclusive verdict never contradicts the point estimate
    assert at_most != "passes" or value <= bound
    assert at_least != "passes" or value >= bound


def counts(**groups) -> pd.DataFrame:
    return pd.DataFrame(groups, index=["tp", "fp", "fn", "tn"]).T


def test_a_disparate_impact_of_exactly_the_threshold_passes_the_four_fifths_rule():
    # favourable = predicted positive (tp + fp): a 5/8, b 4/8, so b's ratio is 0.8 exactly
    table = counts(a=[3, 2, 1, 2], b=[2, 2, 2, 2])
    result = audit_from_counts(table, n_boot=0, min_group_size=1)
    assert result.reference_group == "a"
    assert result.disparate_impact.loc["b", "disparate_impact"] == 0.8
    assert result.passes(0.8) and result.verdict(0.8) == "passes"
    assert not result.passes(0.81) and result.verdict(0.81) == "fails"


def test_one_failing_group_fails_the_audit_and_one_straddling_group_makes_it_inconclusive():
    # a approves 90% of 5,000 rows (the reference); the others by their own counts
    a = [2250, 2250, 250, 250]
    clear_pass = [1000, 1000, 125, 125]  # 0.89 / 0.9, narrow
    straddles = [18, 18, 7, 7]  # 36 of 50 approved: 0.8, wide
    clear_fail = [650, 650, 600, 600]  # 0.52 / 0.9, narrow
    kw = dict(n_boot=1000, random_state=0, min_group_size=1)
    assert audit_from_counts(counts(a=a, b=clear_pass), **kw).verdict(0.8) == "passes"
    assert audit_from_counts(counts(a=a, b=clear_pass, c=straddles), **kw).verdict(0.8) == (
        "inconclusive"
    )
    assert audit_from_counts(counts(a=a, b=straddles, c=clear_fail), **kw).verdict(0.8) == ("fails")


@pytest.mark.parametrize("favourable_label", [None, 1, 0])
def test_verdict_reads_each_groups_interval_against_the_bound(favourable_label):
    """The four-fifths verdict, by hand from the groups' own intervals."""
    rng = np.random.default_rng(4)
    table = counts(
        a=[400, 100, 300, 200], b=[150, 60, 240, 50], c=[20, 15, 30, 35], d=[300, 20, 80, 600]
    )
    result = audit_from_counts(
        table, favourable_label=favourable_label, n_boot=400, random_state=rng, min_group_size=1
    )
    di = result.disparate_impact
    for bound in (0.3, 0.6, 0.8, 0.95):
        if (di["ci_low"] >= bound).all():
            expected = "passes"
        elif (di["ci_high"] < bound).any():
            expected = "fails"
        else:
            expected = "inconclusive"
        assert result.verdict(bound) == expected, bound
