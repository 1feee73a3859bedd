"""DecorrelatedClassifier against Fairlearn's CorrelationRemover applied by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.preprocessing import CorrelationRemover
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from fairaudit import mitigation as mit


@pytest.fixture(scope="module")
def proxied():
    """Two features: one carries the group (a proxy), one the label only."""
    rng = np.random.default_rng(5)
    n = 1500
    group = pd.Series(rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]), name="g")
    shift = group.map({"a": 0.0, "b": 1.5, "c": -1.0}).to_numpy()
    y = (rng.random(n) < 0.4).astype(int)
    X = pd.DataFrame(
        {"proxy": shift + 0.5 * y + rng.normal(0, 1, n), "signal": y + rng.normal(0, 1, n)},
        index=pd.RangeIndex(100, 100 + n),
    )
    return X, y, group


def test_matches_correlation_remover_and_logistic_regression_applied_by_hand(proxied):
    X, y, group = proxied
    scaler = StandardScaler().fit(X)
    model = mit.DecorrelatedClassifier(LogisticRegression(), preprocessor=scaler).fit(
        X, y, sensitive_features=group
    )
    # The same by hand: scaled features, one 0/1 column per group, the remover, the classifier.
    dummies = pd.get_dummies(group).astype(float)
    frame = pd.DataFrame(scaler.transform(X), columns=["proxy", "signal"]).join(dummies)
    remover = CorrelationRemover(sensitive_feature_ids=list(dummies.columns)).fit(frame)
    by_hand = LogisticRegression().fit(remover.transform(frame), y)
    np.testing.assert_allclose(
        model.transform(X, sensitive_features=group), remover.transform(frame), atol=1e-10
    )
    np.testing.assert_array_equal(
        mit.predict(model, X, group), by_hand.predict(remover.transform(frame))
    )


def test_decorrelated_features_carry_no_linear_trace_of_the_group(proxied):
    X, y, group = proxied
    raw = np.corrcoef(X["proxy"], group == "b")[0, 1]
    assert abs(raw) > 0.3  # the proxy does carry the group
    Z = mit.DecorrelatedClassifier(LogisticRegression()).fit(X, y, sensitive_features=group)
    Z = Z.transform(X, sensitive_features=group)
    for g in ("a", "b", "c"):
        for column in Z.T:
            assert abs(np.corrcoef(column, group == g)[0, 1]) < 1e-8
    # alpha 0 leaves the features as they were
    untouched = mit.DecorrelatedClassifier(LogisticRegression(), alpha=0.0)
    untouched.fit(X, y, sensitive_features=group)
    np.testing.assert_allclose(untouched.transform(X, sensitive_features=group), X.to_numpy())


def test_refuses_missing_or_unseen_groups_and_scoring_on_its_own_rows(proxied):
    X, y, group = proxied
    model = mit.DecorrelatedClassifier(LogisticRegression()).fit(X, y, sensitive_features=group)
    with pytest.raises(ValueError, match="needs sensitive_features"):
        mit.predict(model, X)
    with pytest.raises(ValueError, match=r"groups \['d'\] were not seen in fitting"):
        model.predict(X.iloc[:2], sensitive_features=["a", "d"])
    # a refit learns its own groups, not the previous fit's
    refit = model.fit(X, y, sensitive_features=group.replace("c", "d"))
    assert refit.groups_.tolist() == ["a", "b", "d"]
    assert len(refit.predict(X.iloc[:2], sensitive_features=["a", "d"])) == 2
    with pytest.raises(ValueError, match="was fitted on 1,500 of these 1,500 rows"):
        mit.tradeoff_table({"decorrelated": model}, X, y, group)
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        mit.DecorrelatedClassifier(LogisticRegression(), alpha=2).fit(
            X, y, sensitive_features=group
        )
