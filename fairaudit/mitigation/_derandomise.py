"""Deterministic stand-ins for Fairlearn's randomised mitigators.

Both Fairlearn mitigations reach their fairness targets by randomising:
``ThresholdOptimizer`` between two thresholds per group, ``ExponentiatedGradient``
between several classifiers. A service must decide the same request the same
way every time, and a person must be able to read why. :func:`thresholds_from_optimizer`
replaces the randomised thresholds with one deterministic threshold per group,
and :class:`VoteMixture` replaces the randomised mixture with a weighted vote.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_curve

from fairaudit._validation import group_keys
from fairaudit.mitigation._decision_rule import decide

__all__ = ["VoteMixture", "thresholds_from_optimizer"]


class VoteMixture(ClassifierMixin, BaseEstimator):
    """Weighted vote of fitted classifiers, the deterministic face of a randomised mixture.

    :class:`~fairlearn.reductions.ExponentiatedGradient` returns a *randomised*
    classifier: for each request it draws one of its ``predictors_`` with
    probability ``weights_``. ``predict_proba`` here returns that probability of
    a positive decision (the weighted share of positive votes), so a threshold of
    0.5 gives the majority decision (a tie approves: ``score >= 0.5``, as a
    :class:`DecisionRule` with threshold 0.5 decides). Being an ordinary estimator of plain
    scikit-learn parts, it can be saved with skops.

    Parameters
    ----------
    estimators : list of fitted classifiers
        Each predicts 0/1.
    weights : array-like of float
        Non-negative, one per estimator; normalised to sum to 1.
    """

    def __init__(self, estimators=None, weights=None):
        self.estimators = estimators
        self.weights = weights

    def _checked(self):
        estimators = list(self.estimators or [])
        weights = np.asarray(self.weights if self.weights is not None else [], dtype=float)
        if not estimators or len(estimators) != len(weights):
            raise ValueError(
                f"VoteMixture needs one weight per estimator; got {len(estimators)} estimators "
                f"and {len(weights)} weights."
            )
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"weights must be non-negative with a positive sum, got {weights}.")
        return estimators, weights / weights.sum()

    def fit(self, X=None, y=None):
        """Nothing to fit: the estimators come fitted. Present for the estimator API.

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        VoteMixture
            ``self``.
        """
        self._checked()
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        """Probability of a positive decision: the weighted share of positive votes.

        Parameters
        ----------
        X : array-like
            The rows, as every voting estimator takes them.

        Returns
        -------
        numpy.ndarray of shape (n, 2)
            Columns for a negative and a positive decision.
        """
        estimators, weights = self._checked()
        votes = np.column_stack([np.asarray(e.predict(X), dtype=float) for e in estimators])
        positive = votes @ weights
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X):
        """Majority decision: weighted share of positive votes at least 0.5.

        Parameters
        ----------
        X : array-like
            The rows, as every voting estimator takes them.

        Returns
        -------
        numpy.ndarray of int
        """
        return decide(self.predict_proba(X)[:, 1], 0.5)


# --------------------------------------------------------------------------- thresholds


# Saved rules name the class by its public path, which stays stable when modules move.
VoteMixture.__module__ = "fairaudit.mitigation"


def thresholds_from_optimizer(
    optimizer,
    X: pd.DataFrame,
    y_true,
    sensitive_features: pd.DataFrame | pd.Series,
    *,
    scores=None,
) -> dict[str, float]:
    """Deterministic per-group thresholds that imitate a fitted ``ThresholdOptimizer``.

    For each group, the randomised rule's expected operating point on ``X`` is
    computed from the optimizer's probabilities of a positive decision; then,
    among the thresholds ``t`` of the rule "positive if score >= t", the one
    whose operating point is closest is chosen. "Closest" follows the
    optimizer's constraint: the selection rate for ``"demographic_parity"``,
    the true-positive rate for ``"true_positive_rate_parity"`` and
    ``"false_negative_rate_parity"``, the false-positive rate for
    ``"false_positive_rate_parity"`` and ``"true_negative_rate_parity"``, and
    the (false-positive, true-positive) pair for ``"equalized_odds"``. Each
    threshold is the smallest that gives its operating point on these rows: just
    above the highest score it declines (the lowest score when it approves
    everyone, just above the highest when it approves no one), so every
    threshold is a finite number that JSON can hold.

    Pass the validation split the optimizer was fitted on, never the test set.

    Parameters
    ----------
    optimizer : fairlearn.postprocessing.ThresholdOptimizer
        Fitted with ``predict_method="predict_proba"`` on the same sensitive columns.
    X : pandas.DataFrame
        Features the optimizer was fitted on.
    y_true : array-like of 0/1
    sensitive_features : pandas.DataFrame or Series
    scores : array-like, optional
        The model's scores on ``X`` (probability of the positive class); computed
        from ``optimizer.estimator_`` when omitted.

    Returns
    -------
    dict
        Group key (see :func:`group_keys`) → threshold.
    """
    if not hasattr(optimizer, "interpolated_thresholder_"):
        raise ValueError(
            "optimizer is not a fitted ThresholdOptimizer; call fit(X, y, sensitive_features=...) "
            "first."
        )
    if getattr(optimizer, "predict_method", None) != "predict_proba":
        raise ValueError(
            "Thresholds can be transferred only from a ThresholdOptimizer built with "
            f"predict_method='predict_proba' (got {optimizer.predict_method!r}), because the "
            "decision rule thresholds the probability of the positive class."
        )
    y = np.asarray(y_true).astype(int)
    if scores is None:
        scores = optimizer.estimator_.predict_proba(X)[:, 1]
    scores = np.asarray(scores, dtype=float)
    if not (len(y) == len(scores) == len(X) == len(sensitive_features)):
        raise ValueError(
            f"X, y_true, sensitive_features and scores must have one row each per example; got "
            f"{len(X)}, {len(y)}, {len(sensitive_features)} and {len(scores)} rows."
        )
    # fairlearn has no public method for the expected (rather than sampled) decision.
    p_positive = optimizer._pmf_predict(X, sensitive_features=sensitive_features)[:, 1]
    keys = group_keys(_as_frame(sensitive_features))
    constraint = optimizer.constraints
    thresholds = {}
    for key in sorted(set(keys.tolist())):
        mask = keys == key
        thresholds[key] = _closest_threshold(scores[mask], y[mask], p_positive[mask], constraint)
    return thresholds


def _closest_threshold(scores, y, p_positive, constraint) -> float:
    pos, neg = max((y == 1).sum(), 1), max((y == 0).sum(), 1)
    target = {
        "sr": p_positive.mean(),
        "tpr": p_positive[y == 1].sum() / pos,
        "fpr": p_positive[y == 0].sum() / neg,
    }
    # scikit-learn's ROC curve over every distinct score, highest first: row j is the rule
    # "positive iff score >= thr[j]" (thr[0] is infinite: no one). Its threshold is put just
    # above thr[j + 1], the highest score the row declines; the last row declines no one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # a group with one class
        fpr, tpr, thr = roc_curve(y, scores, drop_intermediate=False)
    candidates = np.append(np.nextafter(thr[1:], np.inf), thr[-1])
    tpr, fpr = np.nan_to_num(tpr), np.nan_to_num(fpr)  # no positives (negatives): rate 0
    sr = (tpr * (y == 1).sum() + fpr * (y == 0).sum()) / len(scores)
    if constraint == "demographic_parity":
        dist = np.abs(sr - target["sr"])
    elif constraint in ("true_positive_rate_parity", "false_negative_rate_parity"):
        dist = np.abs(tpr - target["tpr"])
    elif constraint in ("false_positive_rate_parity", "true_negative_rate_parity"):
        dist = np.abs(fpr - target["fpr"])
    else:  # equalized_odds
        dist = np.hypot(tpr - target["tpr"], fpr - target["fpr"])
    return float(candidates[int(np.argmin(dist))])


def _as_frame(sensitive) -> pd.DataFrame:
    if isinstance(sensitive, pd.Series):
        return sensitive.to_frame()
    if isinstance(sensitive, pd.DataFrame):
        return sensitive
    raise TypeError(
        f"sensitive_features must be a pandas DataFrame or Series, got {type(sensitive)}; "
        "pass df[['sex']] or df[['sex', 'race']]."
    )


def partial_thresholds(thresholds, fraction: float, *, start: float = 0.5) -> dict:
    """Group thresholds part of the way from one shared threshold to fitted ones.

    ``start + fraction * (t - start)`` for each group's threshold ``t``:
    ``fraction=0`` is the baseline's single cut-off, 1 the fitted thresholds.
    The intermediate rules are deterministic and cost no refit, so they fill
    the front between a baseline and a post-processing mitigation; what each
    achieves is measured on unseen rows, not promised.

    Parameters
    ----------
    thresholds : dict
        Group key to threshold, e.g. from :func:`thresholds_from_optimizer`.
    fraction : float
        From 0 to 1.
    start : float, default=0.5
        The shared threshold the path starts from.

    Returns
    -------
    dict
        Same keys, the moved thresholds.
    """
    if not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be a number from 0 to 1, got {fraction!r}.")
    return {g: float(start + fraction * (t - start)) for g, t in dict(thresholds).items()}
