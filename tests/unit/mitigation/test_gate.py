"""The fairness gate against Fairlearn's metrics and hand-computed verdicts."""

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    selection_rate,
)

from fairaudit.metrics import audit
from fairaudit.mitigation import CHECKS, fairness_gate, gate_passes


@pytest.fixture(scope="module")
def decisions():
    rng = np.random.default_rng(7)
    n = 3000
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    y_true = rng.binomial(1, np.where(group == "a", 0.4, 0.25))
    y_pred = rng.binomial(1, np.where(group == "a", 0.45, np.where(group == "b", 0.3, 0.2)))
    return y_true, y_pred, pd.Series(group, name="group")


@pytest.fixture(scope="module")
def result(decisions):
    y_true, y_pred, group = decisions
    return audit(y_true, y_pred, group, n_boot=300, random_state=0)


def test_values_match_fairlearn_and_hand_computed_disparate_impact(decisions, result):
    y_true, y_pred, group = decisions
    table = fairness_gate(result)
    assert list(table.index) == list(CHECKS)
    assert table.loc["demographic_parity_difference", "value"] == pytest.approx(
        demographic_parity_difference(y_true, y_pred, sensitive_features=group)
    )
    assert table.loc["equalized_odds_difference", "value"] == pytest.approx(
        equalized_odds_difference(y_true, y_pred, sensitive_features=group)
    )
    rates = MetricFrame(
        metrics=selection_rate, y_true=y_true, y_pred=y_pred, sensitive_features=group
    ).by_group
    # Reference: the group with the highest favourable (predicted positive) rate.
    assert table.loc["disparate_impact", "value"] == pytest.approx(rates.min() / rates.max())


def test_verdicts_flip_exactly_at_the_thresholds(result):
    values = fairness_gate(result)["value"]
    dpd, eod, di = (values[k] for k in CHECKS)
    at = fairness_gate(result, dpd_max=dpd, eod_max=eod, di_min=di)
    assert at["passed"].all() and gate_passes(at)
    below = fairness_gate(result, dpd_max=dpd - 1e-9, eod_max=eod - 1e-9, di_min=min(di + 1e-9, 1))
    assert not below["passed"].any() and not gate_passes(below)
    assert (below["rule"] == ["<=", "<=", ">="]).all()
    assert below.loc["disparate_impact", "threshold"] == pytest.approx(di + 1e-9)


def test_conclusive_means_the_interval_is_on_one_side(result):
    table = fairness_gate(result)
    dpd = table.loc["demographic_parity_difference"]
    assert dpd["ci_low"] <= dpd["value"] <= dpd["ci_high"]
    # A threshold above the whole interval: a conclusive pass; inside it: a pass, not conclusive.
    clear = fairness_gate(result, dpd_max=min(dpd["ci_high"] + 0.01, 1.0))
    assert clear.loc["demographic_parity_difference", ["passed", "conclusive"]].tolist() == [
        True,
        True,
    ]
    inside = fairness_gate(result, dpd_max=(dpd["value"] + dpd["ci_high"]) / 2)
    assert inside.loc["demographic_parity_difference", ["passed", "conclusive"]].tolist() == [
        True,
        False,
    ]
    below = fairness_gate(result, dpd_max=max(dpd["ci_low"] - 0.01, 0.0))
    assert below.loc["demographic_parity_difference", ["passed", "conclusive"]].tolist() == [
        False,
        True,
    ]


def test_equalized_odds_interval_is_that_of_the_larger_rate_gap(result):
    diff = result.difference(["true_positive_rate", "false_positive_rate"])
    worst = diff["value"].idxmax()
    row = fairness_gate(result).loc["equalized_odds_difference"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (diff.loc[worst, "ci_low"], diff.loc[worst, "ci_high"])
    )


def test_summary_mapping_has_no_intervals_and_nan_fails():
    summary = {
        "demographic_parity_difference": 0.05,
        "equalized_odds_difference": float("nan"),
        "disparate_impact": 0.79,
    }
    table = fairness_gate(summary)
    assert table["passed"].tolist() == [True, False, False]
    assert table["ci_low"].isna().all() and not table["conclusive"].any()


def test_dict_of_audits_is_stacked_under_an_audit_level(decisions, result):
    y_true, y_pred, group = decisions
    other = audit(y_true, y_pred, group == "a", n_boot=0)
    table = fairness_gate({"group": result, "is a": other})
    assert table.index.names == ["audit", "check"]
    assert table.loc["is a"].shape[0] == 3
    assert table.loc["is a", "demographic_parity_difference"]["value"] == pytest.approx(
        demographic_parity_difference(y_true, y_pred, sensitive_features=group == "a")
    )
    assert math.isnan(table.loc[("is a", "disparate_impact"), "ci_low"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dpd_max": -0.1}, "dpd_max must be a number in [0, 1]"),
        ({"eod_max": 1.5}, "eod_max must be a number in [0, 1]"),
        ({"di_min": 0}, "di_min must be a number in (0, 1]"),
        ({"di_min": "0.8"}, "di_min must be a number"),
    ],
)
def test_bad_thresholds_are_refused(result, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        fairness_gate(result, **kwargs)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="lacks"):
        fairness_gate({"demographic_parity_difference": 0.1})
    with pytest.raises(TypeError, match="AuditResult"):
        fairness_gate([0.1, 0.1, 0.9])
    with pytest.raises(ValueError, match="empty dict"):
        fairness_gate({})
    with pytest.raises(TypeError, match="fairness_gate"):
        gate_passes(pd.DataFrame({"x": [1]}))


def test_only_blocking_checks_decide_the_gate():
    summary = {
        "demographic_parity_difference": 0.18,  # fails its 0.1 bound, reported only
        "equalized_odds_difference": 0.05,
        "disparate_impact": 0.6,  # fails, reported only
    }
    table = fairness_gate(summary, blocking=["equalized_odds_difference"])
    assert table["blocking"].tolist() == [False, True, False]
    assert table["passed"].tolist() == [False, True, False]
    assert gate_passes(table)
    assert not gate_passes(fairness_gate(summary))  # every check blocks by default
    worse = {**summary, "equalized_odds_difference": 0.2}
    assert not gate_passes(fairness_gate(worse, blocking=["equalized_odds_difference"]))
    with pytest.raises(ValueError, match="blocking must name at least one of the checks"):
        fairness_gate(summary, blocking=["accuracy"])
    with pytest.raises(ValueError, match="blocking must name at least one"):
        fairness_gate(summary, blocking=[])


def _release_table():
    from fairaudit.mitigation import compare_with_baseline

    table = pd.DataFrame(
        {
            "accuracy": [0.870, 0.868, 0.860, 0.830, 0.869],
            "f1": [0.700, 0.660, 0.690, 0.650, 0.699],
            "equalized_odds_difference": [0.12, 0.06, 0.08, 0.02, 0.09],
            "gate_passed": [False, True, True, True, True],
            "passes_equalized_odds_difference": [False, True, True, True, True],
            "passes_demographic_parity_difference": [False, False, False, True, False],
        },
        index=["baseline", "f1 drops", "fair", "costly", "randomised"],
    )
    return compare_with_baseline(table, "baseline", tolerance=0.03)


def test_release_is_the_most_accurate_candidate_passing_within_accuracy_and_f1_tolerance():
    from fairaudit.mitigation import choose_release

    table = _release_table()
    # "f1 drops" is the most accurate passing one, but its F1 falls 4 points; "costly" loses
    # 4 points of accuracy; "randomised" may not ship.
    deterministic = ["baseline", "f1 drops", "fair", "costly"]
    assert choose_release(
        table, disparity="equalized_odds_difference", candidates=deterministic
    ) == ("fair")
    # with no passing candidate inside the tolerance, nothing is chosen
    blocked = table.assign(gate_passed=[False, True, False, True, False])
    assert (
        choose_release(blocked, disparity="equalized_odds_difference", candidates=deterministic)
        is None
    )


def test_price_of_each_check_is_the_accuracy_of_the_best_candidate_passing_it():
    from fairaudit.mitigation import price_of_checks

    table = _release_table()
    deterministic = ["baseline", "f1 drops", "fair", "costly"]
    price = price_of_checks(table, "baseline", candidates=deterministic)
    assert price.loc["equalized_odds_difference", "cheapest"] == "f1 drops"
    assert price.loc["equalized_odds_difference", "accuracy_change"] == pytest.approx(-0.002)
    assert price.loc["equalized_odds_difference", "f1_change"] == pytest.approx(-0.04)
    assert price.loc["demographic_parity_difference", "cheapest"] == "costly"
    assert price.loc["demographic_parity_difference", "accuracy_change"] == pytest.approx(-0.04)


def test_gate_verdict_reads_the_blocking_intervals():
    from fairaudit.mitigation import check_verdicts, gate_verdict

    table = pd.DataFrame(
        {
            "value": [0.15, 0.05, 0.60],
            "ci_low": [0.12, 0.004, 0.55],
            "ci_high": [0.18, 0.106, 0.66],
            "rule": ["<=", "<=", ">="],
            "threshold": [0.1, 0.1, 0.8],
            "passed": [False, True, False],
            "blocking": [False, True, False],
        },
        index=["demographic_parity_difference", "equalized_odds_difference", "disparate_impact"],
    )
    # by hand: 0.12 > 0.1 fails; 0.004..0.106 straddles 0.1; 0.66 < 0.8 fails
    assert check_verdicts(table).tolist() == ["fails", "inconclusive", "fails"]
    assert gate_verdict(table) == "inconclusive"  # only the blocking check counts
    assert gate_verdict(table.assign(ci_high=[0.18, 0.09, 0.66])) == "passes"
    assert gate_verdict(table.assign(blocking=True)) == "fails"
    no_interval = table.assign(ci_low=np.nan, ci_high=np.nan)  # the point estimate decides
    assert gate_verdict(no_interval) == "passes"


# position of the threshold relative to the interval [low, high] around the value ->
# (passed, conclusive, verdict) by hand, for "<=" checks and for ">=" checks
AT_MOST = {
    "below": (False, True, "fails"),
    "at low": (False, False, "inconclusive"),
    "inside, below value": (False, False, "inconclusive"),
    "inside, above value": (True, False, "inconclusive"),
    "at high": (True, True, "passes"),
    "above": (True, True, "passes"),
}
AT_LEAST = {
    "below": (True, True, "passes"),
    "at low": (True, True, "passes"),
    "inside, below value": (True, False, "inconclusive"),
    "inside, above value": (False, False, "inconclusive"),
    "at high": (False, False, "inconclusive"),
    "above": (False, True, "fails"),
}
KEYWORD = {
    "demographic_parity_difference": "dpd_max",
    "equalized_odds_difference": "eod_max",
    "disparate_impact": "di_min",
}


@pytest.mark.parametrize("position", list(AT_MOST))
@pytest.mark.parametrize("check", list(CHECKS))
def test_conclusive_and_verdict_by_hand_for_both_directions(result, check, position):
    from fairaudit.mitigation import check_verdicts, gate_verdict

    row = fairness_gate(result).loc[check]
    low, value, high = row["ci_low"], row["value"], row["ci_high"]
    assert 0 < low < value < high < 1  # the fixture's intervals leave room on both sides
    threshold = {
        "below": low / 2,
        "at low": low,
        "inside, below value": (low + value) / 2,
        "inside, above value": (value + high) / 2,
        "at high": high,
        "above": (high + 1) / 2,
    }[position]
    table = fairness_gate(result, **{KEYWORD[check]: threshold}, blocking=[check])
    passed, conclusive, verdict = (AT_MOST if CHECKS[check][1] == "<=" else AT_LEAST)[position]
    assert table.loc[check, ["passed", "conclusive"]].tolist() == [passed, conclusive]
    assert check_verdicts(table)[check] == verdict
    assert gate_verdict(table) == verdict  # the only blocking check decides
    assert gate_passes(table) == passed
