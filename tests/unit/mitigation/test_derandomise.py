"""Deterministic thresholds from a fitted ThresholdOptimizer, for every constraint it takes.

The reference for each group is computed here, independently of the package:
the randomised rule's expected rates by hand from Fairlearn's fitted
interpolation (``p0 * [score op0 t0] + p1 * [score op1 t1]``), and the best
deterministic threshold by brute force over every distinct score, with the
package's convention that a score at or above its threshold is positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.linear_model import LogisticRegression

from fairaudit.mitigation import DecisionRule, thresholds_from_optimizer

# Which rates each constraint equalises, hence which operating point a group's threshold imitates.
TARGETS = {
    "demographic_parity": ("selection_rate",),
    "true_positive_rate_parity": ("true_positive_rate",),
    "false_negative_rate_parity": ("true_positive_rate",),
    "false_positive_rate_parity": ("false_positive_rate",),
    "true_negative_rate_parity": ("false_positive_rate",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
}


@pytest.fixture(scope="module")
def validation():
    """Two groups with different base rates and score spreads, so their thresholds differ."""
    rng = np.random.default_rng(11)
    n = 1200
    group = rng.choice(["a", "b"], size=n, p=[0.45, 0.55])
    y = rng.binomial(1, np.where(group == "a", 0.25, 0.45))
    X = pd.DataFrame(
        {
            "signal": 1.6 * y + rng.normal(0, np.where(group == "a", 0.8, 1.4)),
            "noise": rng.normal(size=n),
        }
    )
    model = LogisticRegression().fit(X, y)
    return X, pd.Series(y, name="y"), pd.Series(group, name="group"), model


def expected_positive(optimizer, scores, group) -> np.ndarray:
    """The randomised rule's probability of a positive decision, by hand from its interpolation."""
    out = np.full(len(scores), np.nan)
    for key, step in optimizer.interpolated_thresholder_.interpolation_dict.items():
        mine = group == key
        s = scores[mine]
        p = sum(
            step[f"p{i}"]
            * (s > op.threshold if op.operator == ">" else s < op.threshold).astype(float)
            for i, op in ((0, step["operation0"]), (1, step["operation1"]))
        )
        if "p_ignore" in step:
            p = step["p_ignore"] * step["prediction_constant"] + (1 - step["p_ignore"]) * p
        out[mine] = p
    assert not np.isnan(out).any()
    return out


def rates(decided, y) -> dict[str, float]:
    """Selection, true- and false-positive rates of 0/1 (or expected) decisions."""
    return {
        "selection_rate": float(np.mean(decided)),
        "true_positive_rate": float(np.mean(decided[y == 1])),
        "false_positive_rate": float(np.mean(decided[y == 0])),
    }


def distance(achieved, target, constraint) -> float:
    return float(np.hypot.reduce([achieved[r] - target[r] for r in TARGETS[constraint]]))


@pytest.mark.parametrize("constraint", list(TARGETS))
def test_each_groups_threshold_is_the_closest_deterministic_rule(validation, constraint):
    X, y, group, model = validation
    optimizer = ThresholdOptimizer(
        estimator=model, constraints=constraint, prefit=True, predict_method="predict_proba"
    ).fit(X, y, sensitive_features=group)
    thresholds = thresholds_from_optimizer(optimizer, X, y, group)
    assert sorted(thresholds) == ["a", "b"]
    scores = model.predict_proba(X)[:, 1]
    p_positive = expected_positive(optimizer, scores, group.to_numpy())
    for key, threshold in thresholds.items():
        mine = (group == key).to_numpy()
        s, t = scores[mine], y.to_numpy()[mine]
        target = rates(p_positive[mine], t)
        # brute force: every rule "score >= c" there is, from no one to everyone
        candidates = [*np.unique(s), np.inf]
        best = min(distance(rates(s >= c, t), target, constraint) for c in candidates)
        achieved = distance(rates(s >= threshold, t), target, constraint)
        assert achieved == pytest.approx(best, abs=1e-12), (key, threshold)
        assert np.isfinite(threshold)


@pytest.mark.parametrize("constraint", ["equalized_odds", "demographic_parity"])
def test_the_saved_rule_decides_validation_rows_at_the_chosen_operating_points(
    validation, constraint
):
    """The thresholds and the DecisionRule share one convention: the rule hits the same rates."""
    X, y, group, model = validation
    optimizer = ThresholdOptimizer(
        estimator=model, constraints=constraint, prefit=True, predict_method="predict_proba"
    ).fit(X, y, sensitive_features=group)
    thresholds = thresholds_from_optimizer(optimizer, X, y, group)
    rule = DecisionRule(
        model, thresholds, feature_names=list(X.columns), sensitive_features=["group"]
    )
    decided = rule.predict(X.assign(group=group))
    scores = model.predict_proba(X)[:, 1]
    for key, threshold in thresholds.items():
        mine = (group == key).to_numpy()
        np.testing.assert_array_equal(decided[mine], (scores[mine] >= threshold).astype(int))
        # the smallest threshold with those decisions: no score declined reaches it
        declined = scores[mine][decided[mine] == 0]
        approved = scores[mine][decided[mine] == 1]
        if declined.size:
            assert threshold == np.nextafter(declined.max(), np.inf)
        else:  # everyone approved: the lowest score
            assert threshold == approved.min()
