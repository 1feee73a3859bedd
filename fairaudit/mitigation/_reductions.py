"""Mitigating unfairness and weighing what it costs.

A case study compares a fairness-unaware model with mitigated ones. Two
families of Fairlearn mitigations are used, and each has a rule about data
that is easy to get wrong, so the rule lives here once:

* **Post-processing** (:class:`fairlearn.postprocessing.ThresholdOptimizer`)
  keeps a trained model and picks group-specific decision thresholds. Those
  thresholds are *learned*, so they are fitted on a validation split
  (:func:`fit_threshold_optimizer`), never on the test set that later judges
  them.
* **Reductions** (:class:`fairlearn.reductions.ExponentiatedGradient`) retrain
  the estimator under a constraint whose bound (the moment's
  ``difference_bound``) caps the allowed disparity on the training data. A
  smaller bound buys fairness with accuracy, so we train one
  model per bound (:func:`sweep_exponentiated_gradient`) and look at the whole
  trade-off.

Every candidate is then scored on the same split by :func:`tradeoff_table`
(accuracy, balanced accuracy and the standard disparities, computed with
Fairlearn's metrics), :func:`pareto_front` marks the candidates that no other
candidate beats on both axes, and :func:`choose_model` applies a stated,
reproducible rule to pick one. Choose on validation data; report on test data.

Constraint names are shared by both families (Fairlearn's spelling)::

    "demographic_parity"          equal selection rates
    "equalized_odds"              equal true- and false-positive rates
    "true_positive_rate_parity"   equal true-positive rates (equal opportunity)
    "false_positive_rate_parity"  equal false-positive rates
    "error_rate_parity"           equal error rates (reductions only)

Each has a matching *disparity* (the column of :func:`tradeoff_table` it
bounds), see :data:`DISPARITY_OF`.

Everything accepts any scikit-learn classifier (a :class:`~sklearn.pipeline.Pipeline`
included), any sensitive feature(s) as a Series, array or DataFrame, and
returns plain pandas objects and fitted Fairlearn estimators, so a reader can
step outside these helpers at any point.

Examples
--------
>>> to = fit_threshold_optimizer(model, X_val, y_val, A_val)        # doctest: +SKIP
>>> egs = sweep_exponentiated_gradient(base, X_tr, y_tr, A_tr,
...                                    epsilons=[0.01, 0.03, 0.1])   # doctest: +SKIP
>>> table = tradeoff_table({"unmitigated": model, "threshold_optimizer": to, **egs},
...                        X_val, y_val, A_val, random_state=0)        # doctest: +SKIP
>>> table["pareto"] = pareto_front(table)                            # doctest: +SKIP
>>> best = choose_model(table, max_accuracy_loss=0.02)               # doctest: +SKIP
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
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
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from fairaudit._validation import as_sensitive, binary_labels, check_non_negative
from fairaudit.mitigation._protocol import record_fit_rows

__all__ = [
    "CONSTRAINTS",
    "DISPARITY_OF",
    "check_constraint",
    "make_moment",
    "fit_threshold_optimizer",
    "sweep_exponentiated_gradient",
]

#: Constraint name -> the reductions moment class that enforces it.
CONSTRAINTS = {
    "demographic_parity": DemographicParity,
    "equalized_odds": EqualizedOdds,
    "true_positive_rate_parity": TruePositiveRateParity,
    "false_positive_rate_parity": FalsePositiveRateParity,
    "error_rate_parity": ErrorRateParity,
}

#: Constraint name -> the :func:`evaluate` column that measures its violation.
DISPARITY_OF = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "true_positive_rate_parity": "true_positive_rate_difference",
    "false_positive_rate_parity": "false_positive_rate_difference",
    "error_rate_parity": "error_rate_difference",
}

# ThresholdOptimizer cannot enforce error-rate parity (it is not a rate of one label).
_POSTPROCESSING_CONSTRAINTS = tuple(c for c in CONSTRAINTS if c != "error_rate_parity")
_EG_OBJECTIVES = ("accuracy", "balanced_accuracy")


def check_constraint(constraint: str, *, postprocessing: bool = False) -> str:
    """Return ``constraint`` if it is a known constraint name, else raise a helpful error.

    Parameters
    ----------
    constraint : str
        One of the keys of :data:`CONSTRAINTS`.
    postprocessing : bool, default=False
        Also require that :class:`~fairlearn.postprocessing.ThresholdOptimizer`
        supports it (every name but ``"error_rate_parity"``).

    Raises
    ------
    ValueError
        The name is unknown, or not supported by post-processing.
    """
    allowed = _POSTPROCESSING_CONSTRAINTS if postprocessing else tuple(CONSTRAINTS)
    if constraint not in allowed:
        extra = ""
        if postprocessing and constraint == "error_rate_parity":
            extra = (
                " ThresholdOptimizer cannot equalise error rates; use ExponentiatedGradient for"
                " it, or pick another constraint for post-processing."
            )
        raise ValueError(
            f"constraint={constraint!r} is not supported; pass one of {list(allowed)}.{extra}"
        )
    return constraint


def make_moment(constraint: str, *, difference_bound: float | None = None):
    """The Fairlearn reductions moment for ``constraint`` (e.g. ``EqualizedOdds()``).

    ``difference_bound`` is passed to the moment (``None`` keeps Fairlearn's
    default, where the bound is given to the reduction as ``eps`` instead).

    Parameters
    ----------
    constraint : str
        One of :data:`CONSTRAINTS`.
    difference_bound : float, optional
        The largest allowed disparity, passed to the moment.

    Returns
    -------
    fairlearn.reductions.Moment

    Raises
    ------
    ValueError
        If ``constraint`` is unknown (with the valid names).
    """
    check_constraint(constraint)
    cls = CONSTRAINTS[constraint]
    return cls() if difference_bound is None else cls(difference_bound=difference_bound)


# --------------------------------------------------------------------------- input checks


# --------------------------------------------------------------------------- mitigation


def fit_threshold_optimizer(
    estimator,
    X_val,
    y_val,
    sensitive_features,
    *,
    constraint: str = "equalized_odds",
    objective: str = "balanced_accuracy_score",
    grid_size: int = 1000,
    predict_method: str = "predict_proba",
) -> ThresholdOptimizer:
    """Fit group-specific thresholds for an already trained ``estimator`` on validation data.

    The estimator is used as is (``prefit=True``): only the thresholds are
    learned, from ``X_val``/``y_val``. Fitting them on the training data would
    reuse scores the model has over-fitted to; fitting them on the test data
    would make the test set part of the model. Pass a held-out validation split.

    Parameters
    ----------
    estimator : fitted classifier
        Anything with ``predict_proba`` (or the method named by ``predict_method``).
    X_val, y_val : validation features and 0/1 labels.
    sensitive_features : Series, array or DataFrame
        Group membership of each validation row; needed again at prediction
        time (see :func:`predict`).
    constraint : str, default="equalized_odds"
        Any name of :data:`CONSTRAINTS` except ``"error_rate_parity"``.
    objective : str, default="balanced_accuracy_score"
        What the thresholds maximise subject to the constraint. Balanced
        accuracy weighs both classes equally, which matters when positives are
        rare (plain accuracy rewards predicting the majority class).
    grid_size : int, default=1000
        Number of candidate thresholds Fairlearn scans.
    predict_method : str, default="predict_proba"
        The estimator's scoring method.

    Returns
    -------
    fairlearn.postprocessing.ThresholdOptimizer
        Fitted. Its ``predict`` is randomised; use :func:`predict` with a
        ``random_state`` for reproducible decisions.
    """
    check_constraint(constraint, postprocessing=True)
    y = binary_labels(y_val, "y_val")
    sf = as_sensitive(sensitive_features, len(y))
    if len(X_val) != len(y):
        raise ValueError(f"X_val has {len(X_val)} rows but y_val has {len(y)}.")
    to = ThresholdOptimizer(
        estimator=estimator,
        constraints=constraint,
        objective=objective,
        grid_size=grid_size,
        prefit=True,
        predict_method=predict_method,
    )
    return record_fit_rows(to.fit(X_val, y, sensitive_features=sf), X_val)


def _objective_moment(objective: str, y) -> ErrorRate:
    if objective not in _EG_OBJECTIVES:
        raise ValueError(
            f"objective={objective!r} is not supported; pass one of {list(_EG_OBJECTIVES)}."
        )
    if objective == "accuracy":
        return ErrorRate()
    # Minimising p*FP + (1-p)*FN (p = share of positives) is minimising
    # FPR + FNR, i.e. maximising balanced accuracy, up to a constant factor.
    p = float(np.mean(y))
    return ErrorRate(costs={"fp": p, "fn": 1.0 - p})


def sweep_exponentiated_gradient(
    estimator,
    X_train,
    y_train,
    sensitive_features,
    *,
    constraint: str = "equalized_odds",
    epsilons=(0.01, 0.03, 0.1),
    objective: str = "balanced_accuracy",
    max_iter: int = 50,
    eps: float = 0.01,
    nu: float | None = None,
    sample_weight_name: str | None = None,
    preprocessor=None,
    name_format: str = "EG bound={bound:g}",
) -> dict:
    """Train one :class:`~fairlearn.reductions.ExponentiatedGradient` model per bound.

    Parameters
    ----------
    estimator : unfitted classifier
        Cloned for every bound. Its ``fit`` must accept sample weights (the
        reduction reweights the data); for a :class:`~sklearn.pipeline.Pipeline`
        the weight argument is ``"<last step name>__sample_weight"``, which is
        worked out automatically when ``sample_weight_name`` is None.
    X_train, y_train : training features and 0/1 labels.
    sensitive_features : Series, array or DataFrame for the training rows.
    constraint : str, default="equalized_odds"
        Any name of :data:`CONSTRAINTS`.
    epsilons : sequence of float, default=(0.01, 0.03, 0.1)
        Constraint bounds, one model each: the largest allowed between-group
        difference of the constrained rate (the moment's ``difference_bound``,
        e.g. ``EqualizedOdds(difference_bound=0.03)``). Smaller is stricter.
    objective : {"balanced_accuracy", "accuracy"}, default="balanced_accuracy"
        What the reduction minimises the error of. ``"balanced_accuracy"``
        weights false positives by the share of positives and false negatives
        by the share of negatives, so a rare positive class is not ignored.
    max_iter : int, default=50
        Iterations of the exponentiated-gradient game; each fits the estimator
        once, so this bounds the cost of every model.
    eps : float, default=0.01
        Fairlearn's ``ExponentiatedGradient(eps=...)``. Since Fairlearn 0.5 it
        no longer bounds the disparity (the bounds above do); it sets the
        size ``1/eps`` of the Lagrange multipliers, i.e. how hard violations
        are pushed back.
    nu : float or None
        Convergence threshold passed to Fairlearn (None: its default).
    sample_weight_name : str or None
        Name of the estimator's sample-weight fit argument (see ``estimator``).
    preprocessor : fitted transformer, optional
        Applied once to ``X_train`` before the sweep, so the reduction's many
        re-fits train only ``estimator`` on the transformed matrix (the
        preprocessing is not repeated for every re-fit, and the mitigator works
        on plain arrays). Each returned model is then a
        :class:`~sklearn.pipeline.Pipeline` of the frozen preprocessor and the
        fitted mitigator, which takes raw ``X`` like the other models.
    name_format : str, default="EG bound={bound:g}"
        Key of each model in the returned dict.

    Returns
    -------
    dict of str to fitted ExponentiatedGradient (or Pipeline ending in one)
        In the order of ``epsilons``. Predictions are randomised mixtures; use
        :func:`predict` with a ``random_state``.
    """
    check_constraint(constraint)
    y = binary_labels(y_train, "y_train")
    sf = as_sensitive(sensitive_features, len(y))
    if len(X_train) != len(y):
        raise ValueError(f"X_train has {len(X_train)} rows but y_train has {len(y)}.")
    epsilons = [check_non_negative(e, "every epsilon") for e in np.atleast_1d(epsilons).tolist()]
    eps = check_non_negative(eps, "eps")
    if eps == 0:
        raise ValueError("eps must be positive (it sets the multiplier bound 1/eps), e.g. 0.01.")
    if not epsilons:
        raise ValueError("epsilons is empty; pass at least one constraint bound, e.g. [0.02].")
    if len(set(epsilons)) != len(epsilons):
        raise ValueError(f"epsilons has repeated values {epsilons}; pass distinct bounds.")
    if sample_weight_name is None:
        steps = getattr(estimator, "steps", None)
        sample_weight_name = f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
    X = X_train.reset_index(drop=True) if isinstance(X_train, pd.DataFrame) else X_train
    if preprocessor is not None:
        X = preprocessor.transform(X)
    models = {}
    for bound in epsilons:
        eg = ExponentiatedGradient(
            clone(estimator),
            constraints=make_moment(constraint, difference_bound=bound),
            objective=_objective_moment(objective, y),
            eps=eps,
            max_iter=max_iter,
            nu=nu,
            sample_weight_name=sample_weight_name,
        )
        with warnings.catch_warnings():
            # The base learner may stop before full convergence on a reweighted
            # problem; the reduction tolerates approximate best responses.
            warnings.filterwarnings("ignore", message=".*did not converge.*")
            warnings.filterwarnings("ignore", message=".*failed to converge.*")
            # Fairlearn's own bookkeeping uses a pandas idiom that pandas 3 deprecates;
            # nothing the caller can act on.
            warnings.filterwarnings("ignore", message="Setting a value on a Series via .at")
            warnings.filterwarnings("ignore", message="Setting an item of incompatible dtype")
            eg.fit(X, y, sensitive_features=sf)
        if preprocessor is not None:
            eg = Pipeline([("preprocess", FrozenEstimator(preprocessor)), ("mitigator", eg)])
        models[name_format.format(bound=bound)] = record_fit_rows(eg, X_train)
    return models
