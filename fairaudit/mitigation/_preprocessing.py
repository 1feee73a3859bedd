"""Pre-processing: train on features with the sensitive feature's linear trace removed.

Fairlearn's :class:`~fairlearn.preprocessing.CorrelationRemover` projects the
features onto the part uncorrelated with the sensitive columns and drops those
columns. It is a transformer on one numeric matrix; :class:`DecorrelatedClassifier`
puts it between a fitted preprocessor (scaling, one-hot encoding) and a
classifier, adding the group as one-hot columns itself, so a comparison can
score it like any other candidate (:func:`fairaudit.mitigation.predict` passes
the sensitive features). Like ThresholdOptimizer, it needs the group at decision
time: the projection subtracts each row's group-dependent part.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.preprocessing import CorrelationRemover
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from fairaudit._validation import group_keys
from fairaudit.mitigation._protocol import record_fit_rows

__all__ = ["DecorrelatedClassifier"]


class DecorrelatedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fitted on features decorrelated from the sensitive feature.

    Parameters
    ----------
    estimator : classifier
        Cloned and fitted on the decorrelated features.
    preprocessor : fitted transformer, optional
        Turns the raw rows into numbers (used as fitted, never re-fitted);
        the rows must already be numeric without one.
    alpha : float, default 1.0
        CorrelationRemover's strength: 1 removes the linear correlation fully,
        0 leaves the features unchanged.

    Attributes
    ----------
    groups_ : numpy.ndarray
        The groups seen in fitting, in the order of their one-hot columns.
    remover_ : fairlearn.preprocessing.CorrelationRemover
    estimator_ : classifier

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [0.5], [1.5], [2.5], [3.5]])
    >>> y = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    >>> group = np.array(["a"] * 4 + ["b"] * 4)
    >>> model = DecorrelatedClassifier(LogisticRegression()).fit(X, y, sensitive_features=group)
    >>> model.predict(X, sensitive_features=group).tolist()
    [0, 0, 1, 1, 0, 0, 1, 1]
    """

    def __init__(self, estimator, *, preprocessor=None, alpha: float = 1.0):
        self.estimator = estimator
        self.preprocessor = preprocessor
        self.alpha = alpha

    def _matrix(self, X, sensitive_features) -> np.ndarray:
        Z = X if self.preprocessor is None else self.preprocessor.transform(X)
        Z = Z.toarray() if sparse.issparse(Z) else np.asarray(Z, dtype=float)
        group = _group_labels(sensitive_features)
        if len(group) != len(Z):
            raise ValueError(f"sensitive_features has {len(group)} rows but X has {len(Z)}.")
        unknown = sorted(set(group) - set(self.groups_))
        if unknown:
            raise ValueError(
                f"groups {unknown} were not seen in fitting ({list(self.groups_)}); "
                "refit on rows that include them."
            )
        return np.column_stack([Z, (group[:, None] == self.groups_[None, :]).astype(float)])

    def fit(self, X, y, *, sensitive_features, sample_weight=None):
        """Fit the remover and the classifier on the rows ``X`` of groups ``sensitive_features``."""
        if not 0 <= float(self.alpha) <= 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha!r}.")
        self.groups_ = np.array(sorted(set(_group_labels(sensitive_features))))
        matrix = self._matrix(X, sensitive_features)
        k = matrix.shape[1] - len(self.groups_)
        self.remover_ = CorrelationRemover(
            sensitive_feature_ids=list(range(k, matrix.shape[1])), alpha=float(self.alpha)
        ).fit(matrix)
        self.estimator_ = clone(self.estimator).fit(
            self.remover_.transform(matrix), np.asarray(y), sample_weight=sample_weight
        )
        self.classes_ = self.estimator_.classes_
        return record_fit_rows(self, X)

    def transform(self, X, *, sensitive_features) -> np.ndarray:
        """The decorrelated features the classifier sees (the group columns dropped)."""
        check_is_fitted(self, "remover_")
        return self.remover_.transform(self._matrix(X, sensitive_features))

    def predict(self, X, *, sensitive_features) -> np.ndarray:
        """The classifier's decisions on the decorrelated features."""
        return self.estimator_.predict(self.transform(X, sensitive_features=sensitive_features))

    def predict_proba(self, X, *, sensitive_features) -> np.ndarray:
        """The classifier's probabilities on the decorrelated features."""
        return self.estimator_.predict_proba(
            self.transform(X, sensitive_features=sensitive_features)
        )


def _group_labels(sensitive_features) -> np.ndarray:
    """One key per row (:func:`~fairaudit.metrics.group_key`, e.g. "Female, White")."""
    if not isinstance(sensitive_features, pd.DataFrame | pd.Series):
        sensitive_features = pd.Series(np.asarray(sensitive_features))
    return group_keys(sensitive_features)
