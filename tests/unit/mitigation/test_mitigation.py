"""fairaudit.mitigation, checked against Fairlearn used directly and hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    true_positive_rate,
)
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import (
    DemographicParity,
    EqualizedOdds,
    ErrorRate,
    ErrorRateParity,
    ExponentiatedGradient,
    FalsePositiveRateParity,
    TruePositiveRateParity,
)
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fairaudit import mitigation as mit

# The reference ExponentiatedGradient fits below call Fairlearn directly; its bookkeeping uses a
# pandas idiom that pandas 3 deprecates.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Setting a value on a Series via .at"),
    pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype"),
]


def _data(n=3000, seed=0):
    """A feature that predicts the label sharply for group "a" and poorly for group "b"."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=n, p=[0.4, 0.6])
    y = rng.binomial(1, 0.3, size=n)
    spread = np.where(group == "a", 1.0, 2.5)
    X = pd.DataFrame(
        {
            "signal": 2.0 * y + rng.normal(0, spread),
            "noise": rng.normal(size=n),
        }
    )
    return X, pd.Series(y, name="label"), pd.Series(group, name="group")


@pytest.fixture(scope="module")
def split():
    X, y, a = _data()
    half = len(X) // 2
    train = (X.iloc[:half], y.iloc[:half], a.iloc[:half])
    val = (X.iloc[half:], y.iloc[half:], a.iloc[half:])
    model = LogisticRegression().fit(*train[:2])
    return train, val, model


# --------------------------------------------------------------------------- constraints


@pytest.mark.parametrize(
    ("name", "cls", "disparity"),
    [
        ("demographic_parity", DemographicParity, "demographic_parity_difference"),
        ("equalized_odds", EqualizedOdds, "equalized_odds_difference"),
        ("true_positive_rate_parity", TruePositiveRateParity, "true_positive_rate_difference"),
        ("false_positive_rate_parity", FalsePositiveRateParity, "false_positive_rate_difference"),
        ("error_rate_parity", ErrorRateParity, "error_rate_difference"),
    ],
)
def test_constraint_names_map_to_fairlearn_moments(name, cls, disparity):
    assert mit.check_constraint(name) == name
    moment = mit.make_moment(name, difference_bound=0.07)
    assert type(moment) is cls
    assert moment.eps == pytest.approx(0.07)
    assert mit.DISPARITY_OF[name] == disparity


def test_unknown_constraint_lists_the_choices():
    with pytest.raises(ValueError, match="equalized_odds"):
        mit.check_constraint("equal_odds")


def test_error_rate_parity_is_refused_for_post_processing_with_a_reason():
    with pytest.raises(ValueError, match="ThresholdOptimizer cannot equalise error rates"):
        mit.check_constraint("error_rate_parity", postprocessing=True)


# --------------------------------------------------------------------------- evaluate


def test_evaluate_matches_hand_computed_values():
    y_true = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    y_pred = np.array([1, 0, 0, 1, 1, 1, 0, 0])
    group = ["a"] * 4 + ["b"] * 4
    out = mit.evaluate(y_true, y_pred, group)
    # a: TPR 1/2, FPR 1/2, selection 2/4, errors 2/4;  b: TPR 1, FPR 0, selection 2/4, errors 0
    assert out["accuracy"] == pytest.approx(6 / 8)
    assert out["balanced_accuracy"] == pytest.approx((3 / 4 + 3 / 4) / 2)
    assert out["selection_rate"] == pytest.approx(4 / 8)
    assert out["demographic_parity_difference"] == pytest.approx(0.0)
    assert out["true_positive_rate_difference"] == pytest.approx(0.5)
    assert out["false_positive_rate_difference"] == pytest.approx(0.5)
    assert out["equalized_odds_difference"] == pytest.approx(0.5)
    assert out["error_rate_difference"] == pytest.approx(0.5)


def test_evaluate_agrees_with_fairlearn_for_three_groups():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, 500)
    y_pred = rng.integers(0, 2, 500)
    group = rng.choice(["x", "y", "z"], 500)
    out = mit.evaluate(y_true, y_pred, group)
    frame = MetricFrame(
        metrics={"tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=group,
    )
    assert out["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y_true, y_pred, sensitive_features=group)
    )
    assert out["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y_true, y_pred, sensitive_features=group)
    )
    assert out["true_positive_rate_difference"] == pytest.approx(frame.difference()["tpr"])
    assert out["false_positive_rate_difference"] == pytest.approx(frame.difference()["fpr"])
    assert out["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_evaluate_accepts_two_sensitive_columns_as_intersections():
    y_true = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    y_pred = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    sf = pd.DataFrame({"s": list("aabbaabb"), "r": list("xxxxyyyy")})
    out = mit.evaluate(y_true, y_pred, sf)
    assert out["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y_true, y_pred, sensitive_features=sf)
    )


@pytest.mark.parametrize(
    ("y_true", "y_pred", "group", "match"),
    [
        ([0, 1, 2], [0, 1, 1], ["a", "b", "a"], "binary labels"),
        ([0, 1, 1], [0, 1], ["a", "b", "a"], "y_pred has 2 rows"),
        ([0, 1, 1], [0, 1, 1], ["a", "b"], "sensitive_features has 2 rows"),
        ([0, 1, 1], [0, 1, 1], ["a", None, "b"], "missing values"),
    ],
)
def test_evaluate_rejects_bad_inputs_with_a_clear_message(y_true, y_pred, group, match):
    with pytest.raises(ValueError, match=match):
        mit.evaluate(y_true, y_pred, pd.Series(group, dtype=object))


# --------------------------------------------------------------------------- threshold optimizer


def test_threshold_optimizer_equals_fairlearn_fitted_on_the_same_validation_data(split):
    _, (X_val, y_val, a_val), model = split
    coef_before = model.coef_.copy()
    ours = mit.fit_threshold_optimizer(model, X_val, y_val, a_val, constraint="equalized_odds")
    ref = ThresholdOptimizer(
        estimator=model,
        constraints="equalized_odds",
        objective="balanced_accuracy_score",
        prefit=True,
        predict_method="predict_proba",
    ).fit(X_val, y_val, sensitive_features=a_val)
    np.testing.assert_array_equal(
        mit.predict(ours, X_val, a_val, random_state=1),
        ref.predict(X_val, sensitive_features=a_val, random_state=1),
    )
    np.testing.assert_array_equal(model.coef_, coef_before)  # prefit: the model is not retrained


def test_threshold_optimizer_reduces_the_disparity_it_targets(split):
    _, (X_val, y_val, a_val), model = split
    before = mit.evaluate(y_val, model.predict(X_val), a_val)
    for constraint in ["equalized_odds", "true_positive_rate_parity", "demographic_parity"]:
        to = mit.fit_threshold_optimizer(model, X_val, y_val, a_val, constraint=constraint)
        after = mit.evaluate(y_val, mit.predict(to, X_val, a_val, random_state=0), a_val)
        key = mit.DISPARITY_OF[constraint]
        assert after[key] < max(before[key], 0.05), constraint


def test_threshold_optimizer_needs_sensitive_features_to_predict(split):
    _, (X_val, y_val, a_val), model = split
    to = mit.fit_threshold_optimizer(model, X_val, y_val, a_val)
    with pytest.raises(ValueError, match="needs sensitive_features"):
        mit.predict(to, X_val)


# --------------------------------------------------------------------------- reductions


def test_sweep_trains_one_model_per_bound_with_that_bound(split):
    (X_tr, y_tr, a_tr), _, _ = split
    models = mit.sweep_exponentiated_gradient(
        LogisticRegression(), X_tr, y_tr, a_tr, epsilons=[0.05, 0.01], max_iter=15
    )
    assert list(models) == ["EG bound=0.05", "EG bound=0.01"]
    for bound, eg in zip([0.05, 0.01], models.values(), strict=True):
        assert isinstance(eg, ExponentiatedGradient)
        assert isinstance(eg.constraints, EqualizedOdds)
        assert eg.constraints.eps == pytest.approx(bound)


def test_sweep_equals_fairlearn_with_balanced_costs(split):
    (X_tr, y_tr, a_tr), (X_val, _, _), _ = split
    ours = mit.sweep_exponentiated_gradient(
        LogisticRegression(), X_tr, y_tr, a_tr, epsilons=[0.02], max_iter=15
    )["EG bound=0.02"]
    p = float(y_tr.mean())
    ref = ExponentiatedGradient(
        LogisticRegression(),
        constraints=EqualizedOdds(difference_bound=0.02),
        objective=ErrorRate(costs={"fp": p, "fn": 1 - p}),
        max_iter=15,
    ).fit(X_tr.reset_index(drop=True), y_tr.to_numpy(), sensitive_features=a_tr.to_numpy())
    np.testing.assert_array_equal(
        mit.predict(ours, X_val, random_state=0), ref.predict(X_val, random_state=0)
    )


def test_tight_bound_lowers_training_disparity(split):
    (X_tr, y_tr, a_tr), _, _ = split
    plain = LogisticRegression().fit(X_tr, y_tr, sample_weight=np.where(y_tr == 1, 0.7, 0.3))
    eg = mit.sweep_exponentiated_gradient(
        LogisticRegression(), X_tr, y_tr, a_tr, epsilons=[0.01], max_iter=30
    )["EG bound=0.01"]
    before = equalized_odds_difference(y_tr, plain.predict(X_tr), sensitive_features=a_tr)
    after = equalized_odds_difference(
        y_tr, mit.predict(eg, X_tr, random_state=0), sensitive_features=a_tr
    )
    assert before > 0.1  # the data are built to be unfair
    assert after < before / 2


def test_preprocessor_is_applied_once_and_models_take_raw_features(split):
    (X_tr, y_tr, a_tr), (X_val, _, _), _ = split
    pre = ColumnTransformer([("scale", StandardScaler(), ["signal", "noise"])]).fit(X_tr)
    wrapped = mit.sweep_exponentiated_gradient(
        LogisticRegression(), X_tr, y_tr, a_tr, epsilons=[0.02], max_iter=15, preprocessor=pre
    )["EG bound=0.02"]
    direct = mit.sweep_exponentiated_gradient(
        LogisticRegression(),
        pre.transform(X_tr),
        y_tr,
        a_tr,
        epsilons=[0.02],
        max_iter=15,
    )["EG bound=0.02"]
    assert isinstance(wrapped, Pipeline)
    np.testing.assert_array_equal(
        mit.predict(wrapped, X_val, random_state=0),
        mit.predict(direct, pre.transform(X_val), random_state=0),
    )


def test_pipeline_estimators_get_their_sample_weight_routed(split):
    (X_tr, y_tr, a_tr), _, _ = split
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    models = mit.sweep_exponentiated_gradient(pipe, X_tr, y_tr, a_tr, epsilons=[0.05], max_iter=5)
    assert models["EG bound=0.05"].sample_weight_name == "clf__sample_weight"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epsilons": []}, "epsilons is empty"),
        ({"epsilons": [0.1, 0.1]}, "repeated"),
        ({"epsilons": [-0.1]}, "non-negative"),
        ({"objective": "f1"}, "objective='f1'"),
        ({"constraint": "parity"}, "not supported"),
        ({"eps": 0}, "eps must be positive"),
    ],
)
def test_sweep_rejects_bad_settings(split, kwargs, match):
    (X_tr, y_tr, a_tr), _, _ = split
    with pytest.raises(ValueError, match=match):
        mit.sweep_exponentiated_gradient(LogisticRegression(), X_tr, y_tr, a_tr, **kwargs)


# --------------------------------------------------------------------------- trade-off


def test_tradeoff_table_is_recomputable_from_the_saved_predictions(split):
    _, (X_all, y_all, a_all), model = split
    fit_part, choose_part = mit.split_rows(X_all.index, y_all, a_all, random_state=0)
    to = mit.fit_threshold_optimizer(model, X_all.loc[fit_part], y_all[fit_part], a_all[fit_part])
    X_val, y_val, a_val = X_all.loc[choose_part], y_all[choose_part], a_all[choose_part]
    preds = {}
    table = mit.tradeoff_table(
        {"base": model, "to": to}, X_val, y_val, a_val, random_state=0, predictions=preds
    )
    assert list(table.index) == ["base", "to"]
    for name in ["base", "to"]:
        assert table.loc[name, "accuracy"] == pytest.approx(accuracy_score(y_val, preds[name]))
        assert table.loc[name, "equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y_val, preds[name], sensitive_features=a_val)
        )
    np.testing.assert_array_equal(preds["base"], model.predict(X_val))


TABLE = pd.DataFrame(
    {
        "balanced_accuracy": [0.80, 0.78, 0.76, 0.70, 0.75],
        "equalized_odds_difference": [0.12, 0.06, 0.01, 0.005, 0.08],
    },
    index=["base", "mid", "fair", "fairest", "dominated"],
)


def test_pareto_front_marks_exactly_the_non_dominated_rows():
    front = mit.pareto_front(TABLE)
    # "dominated" (0.75, 0.08) is beaten by "mid" (0.78, 0.06) on both axes.
    assert front.to_dict() == {
        "base": True,
        "mid": True,
        "fair": True,
        "fairest": True,
        "dominated": False,
    }


def test_pareto_front_keeps_exact_ties():
    table = pd.DataFrame({"balanced_accuracy": [0.7, 0.7], "equalized_odds_difference": [0.1, 0.1]})
    assert mit.pareto_front(table).tolist() == [True, True]


def test_choose_fairness_first_takes_the_most_accurate_model_within_the_bound():
    assert mit.choose_model(TABLE, max_disparity=0.05) == "fair"
    assert mit.choose_model(TABLE, max_disparity=0.1) == "mid"
    assert mit.choose_model(TABLE, max_disparity=0.001) == "fairest"  # none qualifies
    assert mit.choose_model(TABLE, max_disparity=0.05, candidates=["base", "mid"]) == "mid"


def test_choose_falls_back_to_the_most_accurate_model_not_shown_to_break_the_bound():
    # No point estimate is within 0.004. "mid" and "fair" have intervals reaching below it,
    # "fairest" too, but "mid" is the most accurate of the three; "base" clearly breaks it.
    table = TABLE.assign(equalized_odds_difference_ci_low=[0.09, 0.003, 0.004, 0.0, 0.05])
    assert mit.choose_model(table, max_disparity=0.004) == "mid"
    # When every interval lies above the bound, the least disparate row is taken as before.
    assert (
        mit.choose_model(table.drop(["mid", "fair", "fairest"]), max_disparity=0.004) == "dominated"
    )
    # A model within the bound beats a more accurate one merely not shown to break it.
    assert mit.choose_model(table, max_disparity=0.01) == "fair"


def test_choose_accuracy_budget_takes_the_fairest_model_close_to_the_best():
    assert mit.choose_model(TABLE, max_accuracy_loss=0.02) == "mid"
    assert mit.choose_model(TABLE, max_accuracy_loss=0.04) == "fair"
    assert mit.choose_model(TABLE, max_accuracy_loss=0.0) == "base"


def test_choose_rejects_unknown_columns():
    with pytest.raises(ValueError, match="not in the table"):
        mit.choose_model(TABLE, disparity="demographic_parity_difference")


def test_thresholds_are_never_scored_on_the_rows_they_were_fitted_on():
    """The protocol: fit thresholds on one part of validation, choose on the other."""
    from sklearn.linear_model import LogisticRegression

    from fairaudit import mitigation as mit

    rng = np.random.default_rng(5)
    n = 1200
    X = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    groups = pd.Series(rng.choice(["a", "b"], n, p=[0.8, 0.2]))
    y = pd.Series((X["x"] + 0.5 * (groups == "a") + rng.normal(size=n) > 0.3).astype(int))
    train, val = X.index[:600], X.index[600:]
    model = LogisticRegression().fit(X.loc[train], y[train])
    fit_part, choose_part = mit.split_rows(val, y[val], groups[val], random_state=0)
    assert fit_part.intersection(choose_part).empty
    assert fit_part.union(choose_part).sort_values().equals(val)
    for part in (fit_part, choose_part):  # stratified by label and group
        share = pd.crosstab(y[part], groups[part], normalize=True)
        expected = pd.crosstab(y[val], groups[val], normalize=True)
        assert np.abs(share - expected).to_numpy().max() < 0.02

    to = mit.fit_threshold_optimizer(model, X.loc[fit_part], y[fit_part], groups[fit_part])
    assert mit.fit_rows(to).equals(fit_part)
    models = {"baseline": model, "thresholds": to}
    with pytest.raises(ValueError, match=r"'thresholds' was fitted on 300 of these 600 rows"):
        mit.tradeoff_table(models, X.loc[val], y[val], groups[val], random_state=0)
    with pytest.raises(ValueError, match="fitted on 300 of these 300 rows"):
        mit.tradeoff_table(models, X.loc[fit_part], y[fit_part], groups[fit_part])
    table = mit.tradeoff_table(
        models, X.loc[choose_part], y[choose_part], groups[choose_part], random_state=0
    )
    assert list(table.index) == ["baseline", "thresholds"]
    # the reductions record their training rows too
    egs = mit.sweep_exponentiated_gradient(
        LogisticRegression(), X.loc[train], y[train], groups[train], epsilons=[0.05], max_iter=5
    )
    assert mit.fit_rows(next(iter(egs.values()))).equals(train)
    with pytest.raises(ValueError, match="was fitted on 600 of these 600 rows"):
        mit.tradeoff_table(egs, X.loc[train], y[train], groups[train])


def test_split_rows_copes_with_groups_too_small_to_stratify():
    from fairaudit import mitigation as mit

    index = pd.RangeIndex(50)
    y = pd.Series([0] * 40 + [1] * 10)
    groups = pd.Series(["a"] * 45 + ["b", "c", "d", "e", "f"])  # five singletons, one a positive
    fit_part, choose_part = mit.split_rows(index, y, groups, random_state=0)
    assert len(fit_part) == len(choose_part) == 25
    assert fit_part.intersection(choose_part).empty
    assert set(fit_part) >= {45, 46, 47, 48, 49}  # singletons go where thresholds are fitted
    # every (label, group) pair of group "a" (40 zeros, 5 ones) is in both parts
    for part in (fit_part, choose_part):
        assert set(y[part][groups[part] == "a"]) == {0, 1}


def test_partial_thresholds_move_each_group_the_same_share_of_the_way():
    fitted = {"Female": 0.3, "Male": 0.62}
    assert mit.partial_thresholds(fitted, 0.0) == {"Female": 0.5, "Male": 0.5}
    assert mit.partial_thresholds(fitted, 1.0) == pytest.approx(fitted)
    assert mit.partial_thresholds(fitted, 0.25) == pytest.approx({"Female": 0.45, "Male": 0.53})
    with pytest.raises(ValueError, match="fraction must be a number from 0 to 1"):
        mit.partial_thresholds(fitted, 1.5)


def test_assess_gives_a_wilson_interval_for_accuracy_and_the_gaps_intervals():
    from fairaudit.metrics import audit

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    pred = np.where(rng.random(500) < 0.8, y, 1 - y)
    group = pd.Series(rng.choice(["a", "b"], 500))
    result = audit(y, pred, group, n_boot=200, random_state=0)
    row = mit.assess(y, pred, result)
    # Wilson by hand: centre (p + z²/2n)/(1 + z²/n), half-width z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n)
    p, n, z = (pred == y).mean(), 500, 1.959964
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert row["accuracy_ci_low"] == pytest.approx(centre - half)
    assert row["accuracy_ci_high"] == pytest.approx(centre + half)
    assert row["accuracy_ci_low"] < row["accuracy"] < row["accuracy_ci_high"]
    gap = result.gap("equalized_odds_difference")
    assert row["equalized_odds_difference_ci_low"] == gap["ci_low"]
    assert row["equalized_odds_difference_ci_high"] == gap["ci_high"]
