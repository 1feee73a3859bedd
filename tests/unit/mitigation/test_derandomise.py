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

from fairaudit.mitigation import DecisionRule, VoteMixture, thresholds_from_optimizer

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
    """Groups with different base rates and score spreads, so that their thresholds differ.

    A third of group a's negatives score high and a third of group b's positives score low,
    so neither group's ROC curve is concave and the randomised rules interpolate across
    several thresholds: there the closest rule by one rate and the closest by (TPR, FPR)
    differ, which tells each constraint's branch from the others (make mutants checks that
    these rows do, for every branch). Group c has a single
    positive and group d a single negative: a rate that rests on one person still gets its
    threshold.
    """
    rng = np.random.default_rng(3)
    n = 1200
    group = rng.choice(["a", "b"], size=n, p=[0.45, 0.55])
    y = rng.binomial(1, np.where(group == "a", 0.25, 0.45))
    signal = 1.6 * y + rng.normal(0, np.where(group == "a", 0.8, 1.4))
    low = (group == "b") & (y == 1) & (rng.random(n) < 0.35)
    signal = np.where(low, rng.normal(-1.5, 0.5, n), signal)
    high = (group == "a") & (y == 0) & (rng.random(n) < 0.35)
    signal = np.where(high, rng.normal(2.5, 0.5, n), signal)
    group = np.concatenate([group, ["c"] * 20, ["d"] * 20])
    y = np.concatenate([y, [1] + [0] * 19, [0] + [1] * 19])
    signal = np.concatenate([signal, rng.normal(0, 1.2, 40)])
    X = pd.DataFrame({"signal": signal, "noise": rng.normal(size=len(y))})
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
    assert sorted(thresholds) == ["a", "b", "c", "d"]
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


def test_bad_inputs_are_refused_before_any_work(validation):
    X, y, group, model = validation
    unfitted = ThresholdOptimizer(estimator=model, prefit=True, predict_method="predict_proba")
    with pytest.raises(ValueError, match="not a fitted ThresholdOptimizer; call fit"):
        thresholds_from_optimizer(unfitted, X, y, group)
    fitted = ThresholdOptimizer(
        estimator=model,
        constraints="demographic_parity",
        prefit=True,
        predict_method="predict_proba",
    ).fit(X, y, sensitive_features=group)
    with pytest.raises(ValueError, match=r"one row each per example; got 1240, 1239, 1240"):
        thresholds_from_optimizer(fitted, X, y[1:], group)
    with pytest.raises(
        TypeError, match=r"must be a pandas DataFrame or Series, got <class 'list'>"
    ):
        thresholds_from_optimizer(fitted, X, y, group.tolist())


def test_vote_mixture_probabilities_and_the_weights_it_accepts():
    X = pd.DataFrame({"s": np.linspace(0, 1, 11)})
    y = (X["s"] > 0.45).astype(int)
    a = LogisticRegression().fit(X, y)
    b = LogisticRegression().fit(1 - X, y)  # votes the other way
    mix = VoteMixture([a, b], [3, 1]).fit()
    assert mix.classes_.tolist() == [0, 1]
    proba = mix.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)  # a distribution over two decisions
    np.testing.assert_allclose(proba[:, 1], 0.75 * a.predict(X) + 0.25 * b.predict(X))
    # a predictor the mixture never draws may keep a weight of 0
    np.testing.assert_array_equal(VoteMixture([a, b], [1, 0]).fit().predict(X), a.predict(X))
    for weights in ([1, -1], [0, 0], [-1, -2]):
        with pytest.raises(ValueError, match="non-negative with a positive sum"):
            VoteMixture([a, b], weights).fit()
    with pytest.raises(ValueError, match="one weight per estimator; got 2 estimators and 0"):
        VoteMixture([a, b]).fit()
