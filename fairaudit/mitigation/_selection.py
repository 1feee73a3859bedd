"""Scoring candidates on one split and choosing between them by a stated rule.

:func:`tradeoff_table` scores every model on the same rows with Fairlearn's
metrics (:func:`evaluate`), :func:`pareto_front` marks the candidates that no
other candidate beats on both accuracy and disparity, and :func:`choose_model`
applies a reproducible rule. A release pipeline instead scores candidates with
the audit and the gate (:func:`assess`), compares them with the baseline
(:func:`compare_with_baseline`) and lets :func:`choose_release` put the gate
first. Choose on validation rows; report on test rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate_difference,
    selection_rate,
    true_positive_rate_difference,
    zero_one_loss_difference,
)
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import ExponentiatedGradient
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.pipeline import Pipeline

from fairaudit._validation import as_sensitive, binary_labels, check_non_negative
from fairaudit.metrics import wilson_interval
from fairaudit.mitigation._gate import fairness_gate, gate_passes
from fairaudit.mitigation._preprocessing import DecorrelatedClassifier
from fairaudit.mitigation._protocol import check_unseen

__all__ = [
    "assess",
    "choose_model",
    "choose_release",
    "compare_with_baseline",
    "evaluate",
    "pareto_front",
    "predict",
    "price_of_checks",
    "tradeoff_table",
]


def predict(model, X, sensitive_features=None, *, random_state=None) -> np.ndarray:
    """Hard 0/1 decisions of any model in a comparison, reproducibly.

    Plain estimators use ``predict(X)``; a ThresholdOptimizer also needs the
    rows' sensitive features; both Fairlearn mitigators randomise between
    decisions, so ``random_state`` fixes that draw. A Pipeline ending in an
    ExponentiatedGradient (see ``preprocessor`` of
    :func:`sweep_exponentiated_gradient`) passes ``random_state`` on to it.

    Parameters
    ----------
    model : fitted estimator, ThresholdOptimizer or ExponentiatedGradient
    X : array-like or DataFrame
        The rows to decide.
    sensitive_features : array-like, optional
        Required by a ThresholdOptimizer and a DecorrelatedClassifier.
    random_state : int, optional
        Seed of the randomised mitigators' draw.

    Returns
    -------
    numpy.ndarray
        One 0/1 decision per row.

    Raises
    ------
    ValueError
        If a model that decides by group gets no ``sensitive_features``.
    """
    if isinstance(model, Pipeline) and isinstance(model.steps[-1][1], ExponentiatedGradient):
        X = X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else X
        return np.asarray(model.predict(X, random_state=random_state)).astype(int)
    if isinstance(model, ThresholdOptimizer | DecorrelatedClassifier):
        if sensitive_features is None:
            raise ValueError(f"A {type(model).__name__} needs sensitive_features to predict.")
        sf = as_sensitive(sensitive_features, len(X))
        if isinstance(model, DecorrelatedClassifier):
            return np.asarray(model.predict(X, sensitive_features=sf)).astype(int)
        return np.asarray(model.predict(X, sensitive_features=sf, random_state=random_state))
    if isinstance(model, ExponentiatedGradient):
        X = X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else X
        return np.asarray(model.predict(X, random_state=random_state)).astype(int)
    return np.asarray(model.predict(X)).astype(int)


def evaluate(y_true, y_pred, sensitive_features) -> dict[str, float]:
    """Accuracy and disparity metrics of one set of decisions, via Fairlearn.

    Returns a dict with ``accuracy``, ``balanced_accuracy``, ``selection_rate``
    (share predicted positive), ``demographic_parity_difference``,
    ``equalized_odds_difference``, ``true_positive_rate_difference``,
    ``false_positive_rate_difference`` and ``error_rate_difference``
    (largest between-group gap of each rate; 0 means equal).

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1
        Labels and decisions.
    sensitive_features : array-like, Series or DataFrame
        The group of each row.

    Returns
    -------
    dict of str to float

    Raises
    ------
    ValueError
        If the lengths differ or the labels are not binary.
    """
    y = binary_labels(y_true, "y_true")
    pred = binary_labels(y_pred, "y_pred")
    if len(pred) != len(y):
        raise ValueError(f"y_pred has {len(pred)} rows but y_true has {len(y)}.")
    sf = as_sensitive(sensitive_features, len(y))
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "selection_rate": float(selection_rate(y, pred)),
        "demographic_parity_difference": float(
            demographic_parity_difference(y, pred, sensitive_features=sf)
        ),
        "equalized_odds_difference": float(
            equalized_odds_difference(y, pred, sensitive_features=sf)
        ),
        "true_positive_rate_difference": float(
            true_positive_rate_difference(y, pred, sensitive_features=sf)
        ),
        "false_positive_rate_difference": float(
            false_positive_rate_difference(y, pred, sensitive_features=sf)
        ),
        "error_rate_difference": float(zero_one_loss_difference(y, pred, sensitive_features=sf)),
    }


def tradeoff_table(
    models: dict,
    X,
    y,
    sensitive_features,
    *,
    random_state=None,
    predictions: dict | None = None,
) -> pd.DataFrame:
    """Score every model on the same data: one row per model, columns of :func:`evaluate`.

    Parameters
    ----------
    models : dict of str to fitted model
        Any mix of scikit-learn classifiers, ThresholdOptimizer and
        ExponentiatedGradient models; keys become the row index (in order).
    X, y, sensitive_features : the evaluation split (validation to choose, test to report).
    random_state : int or None
        Seed of the randomised mitigators' predictions.
    predictions : dict or None
        If given, filled in place with each model's 0/1 predictions (so they
        can be saved and the table recomputed independently).
    """
    if not models:
        raise ValueError("models is empty; pass a dict of name -> fitted model.")
    check_unseen(models, X)
    rows = {}
    for name, model in models.items():
        pred = predict(model, X, sensitive_features, random_state=random_state)
        if predictions is not None:
            predictions[name] = pred
        rows[name] = evaluate(y, pred, sensitive_features)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def pareto_front(
    table: pd.DataFrame,
    *,
    accuracy: str = "balanced_accuracy",
    disparity: str = "equalized_odds_difference",
) -> pd.Series:
    """Mark the rows no other row beats on both accuracy (higher) and disparity (lower).

    A row is dominated when another row is at least as good on both columns and
    strictly better on one. Returns a boolean Series aligned with ``table``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per candidate, e.g. from :func:`tradeoff_table`.
    accuracy, disparity : str
        The columns compared (higher accuracy and lower disparity are better).

    Returns
    -------
    pandas.Series of bool
        Named ``pareto``, True for the rows on the front.

    Raises
    ------
    ValueError
        If a column is missing.
    """
    for col in (accuracy, disparity):
        if col not in table.columns:
            raise ValueError(
                f"column {col!r} is not in the table; columns are {list(table.columns)}."
            )
    acc = table[accuracy].to_numpy(dtype=float)
    dis = table[disparity].to_numpy(dtype=float)
    better_eq = (acc[None, :] >= acc[:, None]) & (dis[None, :] <= dis[:, None])
    strictly = (acc[None, :] > acc[:, None]) | (dis[None, :] < dis[:, None])
    dominated = (better_eq & strictly).any(axis=1)
    return pd.Series(~dominated, index=table.index, name="pareto")


def choose_model(
    table: pd.DataFrame,
    *,
    accuracy: str = "balanced_accuracy",
    disparity: str = "equalized_odds_difference",
    max_accuracy_loss: float = 0.02,
    max_disparity: float | None = None,
    candidates=None,
) -> str:
    """Pick a model from a trade-off table by a stated rule.

    Two rules, both restricted to ``candidates`` (all rows if None):

    * ``max_disparity`` given (*fairness first*): among rows whose
      ``disparity`` is at most ``max_disparity``, the most accurate (ties:
      lower disparity, then table order). If no row meets the bound and the
      table has ``<disparity>_ci_low`` (a lower confidence limit), the most
      accurate of the rows the data cannot show to break the bound (lower
      limit at most ``max_disparity``): a lower point estimate that is only
      noise does not outweigh accuracy. Otherwise, the row with the lowest
      disparity.
    * otherwise (*accuracy budget*): among the Pareto-optimal rows, take the
      best ``accuracy``; every row within ``max_accuracy_loss`` of it is
      acceptable, and the one with the lowest ``disparity`` wins (ties: higher
      accuracy, then table order).

    Use it on validation results, so the test set stays an unbiased judge of
    the choice.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`tradeoff_table`, computed on validation rows, optionally
        with a ``<disparity>_ci_low`` column for the fallback.
    accuracy, disparity : str
        The columns the rules compare.
    max_accuracy_loss : float, default 0.02
        The accuracy budget of the second rule.
    max_disparity : float, optional
        The bound of the first rule.
    candidates : list of labels, optional
        The rows that may be chosen.


    Returns
    -------
    str
        The chosen row's index label.
    """
    max_accuracy_loss = check_non_negative(max_accuracy_loss, "max_accuracy_loss")
    sub = table if candidates is None else table.loc[list(candidates)]
    if sub.empty:
        raise ValueError("No candidate models to choose from.")
    for col in (accuracy, disparity):
        if col not in sub.columns:
            raise ValueError(
                f"column {col!r} is not in the table; columns are {list(sub.columns)}."
            )
    ranked = sub.assign(_neg_acc=-sub[accuracy])
    if max_disparity is not None:
        max_disparity = check_non_negative(max_disparity, "max_disparity")
        feasible = ranked[ranked[disparity] <= max_disparity + 1e-12]
        if feasible.empty and f"{disparity}_ci_low" in ranked.columns:
            feasible = ranked[ranked[f"{disparity}_ci_low"] <= max_disparity + 1e-12]
        if feasible.empty:
            return ranked.sort_values([disparity, "_neg_acc"], kind="stable").index[0]
        return feasible.sort_values(["_neg_acc", disparity], kind="stable").index[0]
    front = ranked[pareto_front(sub, accuracy=accuracy, disparity=disparity)]
    best = front[accuracy].max()
    ok = front[front[accuracy] >= best - max_accuracy_loss - 1e-12]
    return ok.sort_values([disparity, "_neg_acc"], kind="stable").index[0]


def assess(y_true, y_pred, result, **gate) -> dict:
    """One candidate's row for a release decision: accuracy, F1, the audit's gaps, the gate.

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1
        Labels and the candidate's decisions on the same rows.
    result : AuditResult
        :func:`fairaudit.metrics.audit` of those decisions for the sensitive
        features the gate decides on.
    **gate
        Thresholds passed to :func:`fairness_gate` (``dpd_max``, ``eod_max``, ``di_min``).

    Returns
    -------
    dict
        ``accuracy``, ``f1``, the demographic parity, equalized odds, true- and
        false-positive-rate and error-rate differences and the disparate impact
        (undefined rates skipped, as the audit does), ``gate_checks_passed``
        and ``gate_passed`` (every blocking check passed), and ``passes_<check>``
        for each check. Intervals: ``accuracy_ci_low/high`` (Wilson score
        interval, 95%) and ``<gap>_ci_low/high`` for the demographic parity
        and equalized odds differences (the audit's bootstrap; NaN without one),
        so a trade-off plot can show how far apart two candidates really are.
    """
    y = binary_labels(y_true, "y_true")
    pred = binary_labels(y_pred, "y_pred")
    summary, diff = result.summary(), result.difference()
    checks = fairness_gate(result, **gate)
    accuracy = float(accuracy_score(y, pred))
    low, high = (float(v) for v in wilson_interval((y == pred).sum(), len(y)))
    gaps = {}
    for name in ("demographic_parity_difference", "equalized_odds_difference"):
        gap = result.gap(name)
        gaps[f"{name}_ci_low"], gaps[f"{name}_ci_high"] = gap["ci_low"], gap["ci_high"]
    return {
        "accuracy": accuracy,
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        **gaps,
        "f1": float(f1_score(y, pred)),
        "demographic_parity_difference": summary["demographic_parity_difference"],
        "equalized_odds_difference": summary["equalized_odds_difference"],
        "true_positive_rate_difference": float(diff.loc["true_positive_rate", "value"]),
        "false_positive_rate_difference": float(diff.loc["false_positive_rate", "value"]),
        "error_rate_difference": float(diff.loc["accuracy", "value"]),
        "disparate_impact": summary["disparate_impact"],
        "gate_checks_passed": int(checks["passed"].sum()),
        "gate_passed": gate_passes(checks),
        **{f"passes_{check}": bool(ok) for check, ok in checks["passed"].items()},
    }


def compare_with_baseline(
    table: pd.DataFrame, baseline, *, tolerance: float, metrics=("accuracy", "f1")
) -> pd.DataFrame:
    """Add each metric's change against the baseline row and whether it stays within tolerance.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per candidate, the baseline among them.
    baseline : label
        The baseline's row.
    tolerance : float
        Largest acceptable drop (0.03: three points).
    metrics : sequence of str
        Columns to compare (higher is better).

    Returns
    -------
    pandas.DataFrame
        A copy with ``<metric>_change`` and ``<metric>_within_tolerance`` per metric.

    Raises
    ------
    ValueError
        If ``baseline`` or a metric is not in the table, or ``tolerance`` is negative.
    """
    tolerance = check_non_negative(tolerance, "tolerance")
    if baseline not in table.index:
        raise ValueError(f"baseline {baseline!r} is not a row of the table: {list(table.index)}.")
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; it has {list(table.columns)}.")
    out = table.copy()
    for metric in metrics:
        change = out[metric].astype(float) - float(out.loc[baseline, metric])
        out[f"{metric}_change"] = change
        out[f"{metric}_within_tolerance"] = change >= -tolerance - 1e-12
    return out


def choose_release(table: pd.DataFrame, *, disparity: str, candidates=None):
    """The most accurate candidate that passes the gate's blocking checks within every tolerance.

    Among ``candidates`` (all rows if None) that pass the blocking checks
    (``gate_passed``) and hold the tolerance on accuracy and, where the table
    has it, on F1 (see :func:`compare_with_baseline`): the highest accuracy,
    ties broken by the smaller ``disparity``, then table order. Include the
    baseline among the candidates, so that "do not mitigate" is a possible
    answer. When no candidate qualifies the answer is None: nothing may ship.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows from :func:`assess`, with the columns :func:`compare_with_baseline` adds.
    disparity : str
        The column that breaks a tie in accuracy.
    candidates : list of labels, optional
        The rows that may be chosen (e.g. the deterministic ones).

    Returns
    -------
    str or None
        The chosen row's label, or None if no candidate qualifies.

    Raises
    ------
    ValueError
        If a needed column is missing.
    """
    needed = ["gate_passed", disparity, "accuracy", "accuracy_within_tolerance"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(
            f"columns {missing} are not in the table; build it with assess and "
            "compare_with_baseline."
        )
    sub = table if candidates is None else table.loc[list(candidates)]
    ok = sub["gate_passed"].astype(bool) & sub["accuracy_within_tolerance"].astype(bool)
    if "f1_within_tolerance" in sub.columns:
        ok &= sub["f1_within_tolerance"].astype(bool)
    eligible = sub[ok]
    if eligible.empty:
        return None
    ranked = eligible.sort_values(["accuracy", disparity], ascending=[False, True], kind="stable")
    return ranked.index[0]


def price_of_checks(table: pd.DataFrame, baseline, *, candidates=None) -> pd.DataFrame:
    """What each gate check costs: the most accurate candidate that passes it, against the baseline.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows from :func:`assess` (with ``passes_<check>`` columns) and
        :func:`compare_with_baseline`.
    baseline : label
        The baseline's row.
    candidates : list of labels, optional
        The rows considered (e.g. the deterministic ones; the baseline among them).

    Returns
    -------
    pandas.DataFrame
        One row per check: ``cheapest`` (the most accurate candidate passing
        it, None if none does), ``accuracy_change`` and ``f1_change`` against
        the baseline (0 when the baseline passes; NaN when nothing does).
    """
    sub = table if candidates is None else table.loc[list(candidates)]
    rows = {}
    for column in [c for c in table.columns if c.startswith("passes_")]:
        passing = sub[sub[column].astype(bool)]
        if passing.empty:
            rows[column[len("passes_") :]] = {
                "cheapest": None,
                "accuracy_change": np.nan,
                "f1_change": np.nan,
            }
            continue
        best = passing["accuracy"].astype(float).idxmax()
        rows[column[len("passes_") :]] = {
            "cheapest": best,
            "accuracy_change": float(table.loc[best, "accuracy"] - table.loc[baseline, "accuracy"]),
            "f1_change": float(table.loc[best, "f1"] - table.loc[baseline, "f1"]),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("check")
