"""One threshold convention everywhere: a score at or above its threshold is positive.

Scores lie on a coarse grid that contains the thresholds, so many rows sit
exactly at a threshold; every place that thresholds a score must decide those
rows positive, and all of them must agree with the brute force ``score >= t``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from fairaudit.metrics import audit
from fairaudit.mitigation import DecisionRule, VoteMixture
from fairaudit.reporting import threshold_rates

GRID = [0.0, 0.25, 0.5, 0.75, 1.0]


class Scores(ClassifierMixin, BaseEstimator):
    """A fitted 'model' whose score is the column ``s`` itself."""

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        s = np.asarray(X["s"], dtype=float)
        return np.column_stack([1 - s, s])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


@pytest.fixture(scope="module")
def rows():
    """Every (score, label, group) cell of the grid, each a seeded number of times (0 to 3)."""
    rng = np.random.default_rng(0)
    cells = [(s, y, g) for s in GRID for y in (0, 1) for g in ("a", "b")]
    repeats = rng.integers(0, 4, len(cells))
    repeats[:4] = 1  # both labels in both groups
    table = pd.DataFrame(cells, columns=["s", "y", "group"]).loc[
        np.repeat(np.arange(len(cells)), repeats)
    ]
    return table.reset_index(drop=True)


def test_a_score_at_the_threshold_is_positive_in_the_audit_explorer_and_rule(rows):
    scores, y, groups = rows["s"].to_numpy(), rows["y"].to_numpy(), rows["group"].to_numpy()
    by_cut = audit(y, y_score=scores, sensitive_features=groups, thresholds=GRID, n_boot=0)
    for threshold in GRID:
        brute = (scores >= threshold).astype(int)
        assert brute.any() and not brute.all() or threshold in (GRID[0], GRID[-1])

        # the audit of a score at several thresholds, counted from one aggregation
        counts = by_cut[threshold].counts
        for g in ("a", "b"):
            mine = groups == g
            assert counts.loc[g, "tp"] == int((brute[mine] & (y[mine] == 1)).sum())
            assert counts.loc[g, "fp"] == int((brute[mine] & (y[mine] == 0)).sum())
            assert counts.loc[g].sum() == mine.sum()

        # the explorer's rates
        table, _ = threshold_rates(y, scores, groups, threshold)
        for g in ("a", "b"):
            assert table.loc[g, "selection_rate"] == pytest.approx(brute[groups == g].mean())

        # the decision rule that ships, with one threshold and with one per group
        single = DecisionRule(Scores().fit(), threshold, feature_names=["s"])
        np.testing.assert_array_equal(single.predict(rows), brute)
        np.testing.assert_array_equal(single.apply(rows)["decision"].to_numpy(), brute)
        per_group = DecisionRule(
            Scores().fit(),
            {"a": threshold, "b": 1.0},
            feature_names=["s"],
            sensitive_features=["group"],
        )
        expected = np.where(groups == "a", brute, scores >= 1.0).astype(int)
        np.testing.assert_array_equal(per_group.predict(rows), expected)


def test_a_tied_vote_is_approved_as_the_rule_at_one_half_approves_it():
    """Two voters of equal weight who disagree: a share of exactly 0.5 of positive votes."""
    X = pd.DataFrame({"s": [0.0, 0.25, 0.5, 0.75, 1.0]})
    yes, no = Scores().fit(), Scores().fit()
    no.predict = lambda frame: np.zeros(len(frame), dtype=int)  # always declines
    vote = VoteMixture([yes, no], [1.0, 1.0]).fit()
    share = vote.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(share, [0.0, 0.0, 0.5, 0.5, 0.5])  # by hand
    np.testing.assert_array_equal(vote.predict(X), [0, 0, 1, 1, 1])
    rule = DecisionRule(vote, 0.5, feature_names=["s"])
    np.testing.assert_array_equal(rule.predict(X), vote.predict(X))
