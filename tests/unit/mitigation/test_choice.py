"""The choice rules against brute force: what may ship, and the hold when nothing may.

``choose_release`` ships the most accurate candidate that passes the blocking
checks and stays within the accuracy and F1 tolerance of the baseline, and
nothing when no candidate does; ``choose_model`` takes the most accurate
candidate within a disparity bound. Each is compared with a loop over the
candidates written here from the documented rule.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairaudit.mitigation import choose_model, choose_release, compare_with_baseline

# Scores on a coarse grid, so ties and drops of exactly the tolerance occur.
SCORES = st.sampled_from([0.80, 0.82, 0.83, 0.84, 0.85, 0.86])
GAPS = st.sampled_from([0.02, 0.05, 0.08, 0.10, 0.12])


@st.composite
def candidates(draw):
    n = draw(st.integers(1, 6))
    rows = {
        f"m{i}": {
            "accuracy": draw(SCORES),
            "f1": draw(SCORES) - 0.2,
            "equalized_odds_difference": draw(GAPS),
            "gate_passed": draw(st.booleans()),
        }
        for i in range(n)
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def release_by_hand(table, baseline, tolerance):
    """The documented rule, as a loop over plain rows: None when no candidate qualifies."""
    rows = table.to_dict("index")
    base = rows[baseline]
    best = None
    for name, row in rows.items():
        qualifies = (
            row["gate_passed"]
            and row["accuracy"] >= base["accuracy"] - tolerance - 1e-9
            and row["f1"] >= base["f1"] - tolerance - 1e-9
        )
        key = (-row["accuracy"], row["equalized_odds_difference"])
        if qualifies and (best is None or key < best[0]):  # ties: the earlier row
            best = (key, name)
    return None if best is None else best[1]


@settings(deadline=None)
@given(table=candidates(), tolerance=st.sampled_from([0.0, 0.01, 0.02, 0.03]))
def test_release_is_the_best_qualifying_candidate_or_nothing(table, tolerance):
    baseline = table.index[0]
    compared = compare_with_baseline(table, baseline, tolerance=tolerance)
    chosen = choose_release(compared, disparity="equalized_odds_difference")
    assert chosen == release_by_hand(table, baseline, tolerance)
    if chosen is not None:  # what ships passed the gate: never a candidate that failed it
        assert table.loc[chosen, "gate_passed"]


def test_nothing_ships_when_no_candidate_passes_the_gate():
    table = pd.DataFrame(
        {
            "accuracy": [0.86, 0.85],
            "f1": [0.70, 0.69],
            "equalized_odds_difference": [0.15, 0.12],
            "gate_passed": [False, False],
        },
        index=["baseline", "mitigated"],
    )
    compared = compare_with_baseline(table, "baseline", tolerance=0.03)
    assert choose_release(compared, disparity="equalized_odds_difference") is None
    # the same candidates, one passing: that one ships
    passing = compare_with_baseline(
        table.assign(gate_passed=[False, True]), "baseline", tolerance=0.03
    )
    assert choose_release(passing, disparity="equalized_odds_difference") == "mitigated"


def test_a_drop_of_exactly_the_tolerance_is_within_it():
    table = pd.DataFrame(
        {"accuracy": [0.86, 0.83, 0.829], "f1": [0.70, 0.67, 0.70]},
        index=["baseline", "at the limit", "beyond"],
    )
    compared = compare_with_baseline(table, "baseline", tolerance=0.03)
    assert compared["accuracy_within_tolerance"].tolist() == [True, True, False]
    assert compared["f1_within_tolerance"].tolist() == [True, True, True]
    assert compared.loc["at the limit", "accuracy_change"] == pytest.approx(-0.03)


def model_by_hand(table, bound):
    """Fairness first: the most accurate within the bound; else the most accurate whose
    interval reaches the bound; else the least disparate (ties: the more accurate)."""
    rows = table.to_dict("index")
    gap, low = "equalized_odds_difference", "equalized_odds_difference_ci_low"
    within = [n for n, r in rows.items() if r[gap] <= bound + 1e-9]
    if not within and low in table:
        within = [n for n, r in rows.items() if r[low] <= bound + 1e-9]
    if not within:
        return min(rows, key=lambda n: (rows[n][gap], -rows[n]["balanced_accuracy"]))
    return min(within, key=lambda n: (-rows[n]["balanced_accuracy"], rows[n][gap]))


@settings(deadline=None)
@given(
    table=candidates(),
    bound=GAPS,
    widths=st.lists(st.sampled_from([0.0, 0.03, 0.06]), min_size=6, max_size=6),
    with_interval=st.booleans(),
)
def test_choose_model_within_a_bound_by_brute_force(table, bound, widths, with_interval):
    table = table.rename(columns={"accuracy": "balanced_accuracy"})
    if with_interval:
        low = table["equalized_odds_difference"] - widths[: len(table)]
        table = table.assign(equalized_odds_difference_ci_low=low)
    chosen = choose_model(table, max_disparity=bound)
    expected = model_by_hand(table, bound)
    # equal on the columns the rule reads (rows tied on both are interchangeable)
    columns = ["balanced_accuracy", "equalized_odds_difference"]
    assert table.loc[chosen, columns].tolist() == table.loc[expected, columns].tolist()
    within = table["equalized_odds_difference"] <= bound + 1e-9
    if within.any():  # never a candidate breaking the bound while one keeps it
        assert within[chosen]
    elif with_interval and not math.isnan(table["equalized_odds_difference_ci_low"].min()):
        reachable = table["equalized_odds_difference_ci_low"] <= bound + 1e-9
        assert not reachable.any() or reachable[chosen]
