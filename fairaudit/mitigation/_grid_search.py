"""GridSearch: one deterministic model per Lagrange multiplier vector, and where to put them.

Fairlearn's :class:`~fairlearn.reductions.GridSearch` reweights the training
data once per multiplier vector. Its default grid is symmetric around zero;
:func:`multiplier_path` puts the grid on the line through the multipliers a
fitted :class:`~fairlearn.reductions.ExponentiatedGradient` found instead.
"""

from __future__ import annotations

import numbers
import warnings

import pandas as pd
from sklearn.base import clone

from fairaudit._validation import as_sensitive, binary_labels, check_non_negative
from fairaudit.mitigation._protocol import record_fit_rows
from fairaudit.mitigation._reductions import check_constraint, make_moment

__all__ = ["sweep_grid_search", "multiplier_path"]


def sweep_grid_search(
    estimator,
    X_train,
    y_train,
    sensitive_features,
    *,
    constraint: str = "equalized_odds",
    grid_size: int = 7,
    grid_limit: float = 2.0,
    grid: pd.DataFrame | None = None,
    sample_weight_name: str | None = None,
    name_format: str = "GS #{index}",
) -> dict:
    """Train one deterministic model per Lagrange multiplier of a Fairlearn ``GridSearch``.

    :class:`~fairlearn.reductions.GridSearch` reweights the training data
    once per point of a grid of multipliers (how much the constraint's
    violation costs) and fits the estimator on each. Unlike
    :func:`sweep_exponentiated_gradient` every result is one ordinary,
    deterministic classifier, which is easy to ship; the price is that no
    constraint bound is guaranteed, so the trade-off table shows what each
    point achieves. The cost is ``grid_size`` fits of the estimator. Fairlearn's
    ``GridSearch`` minimises the plain error rate (it has no ``objective``).

    Parameters
    ----------
    estimator : unfitted classifier
        Its ``fit`` must accept sample weights (see
        :func:`sweep_exponentiated_gradient` for pipelines).
    X_train, y_train, sensitive_features : training data, 0/1 labels, groups.
    constraint : str, default="equalized_odds"
        Any name of :data:`CONSTRAINTS`.
    grid_size : int, default=7
        Number of multiplier vectors (models).
    grid_limit : float, default=2.0
        Largest multiplier magnitude.
    grid : pandas.DataFrame, optional
        Exact multiplier vectors, one per column (e.g. from
        :func:`multiplier_path`); replaces ``grid_size`` and ``grid_limit``.
        Fairlearn's own grid is symmetric around zero, so for equalized odds
        most of its points push the gaps the wrong way; a path along the
        multipliers :class:`~fairlearn.reductions.ExponentiatedGradient` found
        spends every fit where it helps.
    sample_weight_name : str or None
    name_format : str, default="GS #{index}"
        Key of each model; ``index`` is its position in Fairlearn's grid.

    Returns
    -------
    dict of str to fitted estimator
        Plain classifiers (``predict`` is deterministic), in grid order.
    """
    from fairlearn.reductions import GridSearch

    check_constraint(constraint)
    y = binary_labels(y_train, "y_train")
    sf = as_sensitive(sensitive_features, len(y))
    if X_train.shape[0] != len(y):
        raise ValueError(f"X_train has {X_train.shape[0]} rows but y_train has {len(y)}.")
    if not isinstance(grid_size, numbers.Integral) or grid_size < 2:
        raise ValueError(f"grid_size must be an integer of at least 2, got {grid_size!r}.")
    if sample_weight_name is None:
        steps = getattr(estimator, "steps", None)
        sample_weight_name = f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
    X = X_train.reset_index(drop=True) if isinstance(X_train, pd.DataFrame) else X_train
    kwargs = (
        {"grid": grid}
        if grid is not None
        else {
            "grid_size": int(grid_size),
            "grid_limit": check_non_negative(grid_limit, "grid_limit"),
        }
    )
    gs = GridSearch(
        clone(estimator),
        constraints=make_moment(constraint),
        sample_weight_name=sample_weight_name,
        **kwargs,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        warnings.filterwarnings("ignore", message=".*failed to converge.*")
        gs.fit(X, y, sensitive_features=sf)
    return {
        name_format.format(index=i): record_fit_rows(model, X_train)
        for i, model in enumerate(gs.predictors_)
    }


def multiplier_path(eg, scales) -> pd.DataFrame:
    """A GridSearch grid along the Lagrange multipliers a fitted ExponentiatedGradient found.

    ``ExponentiatedGradient`` ends at multipliers that price each constraint
    where the bound binds. Scaling their net value (positive minus negative
    part) by each of ``scales`` gives multiplier vectors on one line through
    zero: 0 is the unconstrained model, 1 the reduction's own price, larger
    values push harder. Each becomes one deterministic GridSearch model, so the
    sweep traces a front between the baseline and beyond the bound.

    Parameters
    ----------
    eg : fitted fairlearn.reductions.ExponentiatedGradient
        Its multipliers at the best iterate (``lambda_vecs_[best_iter_]``) are used.
    scales : sequence of float
        Non-negative multiples of those multipliers, one grid point each.

    Returns
    -------
    pandas.DataFrame
        Indexed like Fairlearn's multiplier vectors (sign, event, group), one
        column per scale: pass as ``grid`` to :func:`sweep_grid_search`.
    """
    scales = [float(x) for x in scales]
    if not scales or min(scales) < 0:
        raise ValueError(f"scales must be non-negative numbers, got {scales!r}.")
    if not hasattr(eg, "lambda_vecs_"):
        raise ValueError("eg must be a fitted ExponentiatedGradient (it has no lambda_vecs_).")
    best = eg.lambda_vecs_[eg.best_iter_]
    net = best["+"] - best["-"]
    columns = {
        scale: pd.concat(
            {"+": (scale * net).clip(lower=0), "-": (-scale * net).clip(lower=0)}, names=["sign"]
        ).reindex(best.index)
        for scale in scales
    }
    return pd.DataFrame(columns)
