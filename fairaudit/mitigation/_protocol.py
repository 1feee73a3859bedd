"""Fit on some rows, choose on others: the split and the check that enforces it.

A ThresholdOptimizer scored on the rows its thresholds were fitted on looks
fairer than it is (its thresholds equalise *those* rows' rates, noise
included), and a comparison with models scored on unseen rows then favours it
for the wrong reason. The mitigation helpers record the rows each model was
fitted on (when they are given a DataFrame), and :func:`tradeoff_table`
refuses to score a model on any of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from fairaudit._validation import group_keys

FIT_ROWS = "fairaudit_fit_rows_"


def record_fit_rows(model, X):
    """Remember which rows ``model`` was fitted on (the index of a DataFrame ``X``)."""
    if isinstance(X, pd.DataFrame | pd.Series):
        setattr(model, FIT_ROWS, pd.Index(X.index))
    return model


def fit_rows(model) -> pd.Index | None:
    """The rows ``model`` was fitted on, if a fairaudit helper recorded them."""
    return getattr(model, FIT_ROWS, None)


def check_unseen(models: dict, X) -> None:
    """Refuse to score a model on rows it was fitted on.

    Parameters
    ----------
    models : dict of str to model
    X : DataFrame
        The rows about to be scored.

    Raises
    ------
    ValueError
        Naming the model and how many of the rows it has seen.
    """
    if not isinstance(X, pd.DataFrame | pd.Series):
        return
    for name, model in models.items():
        seen = fit_rows(model)
        if seen is None:
            continue
        overlap = X.index.isin(seen).sum()
        if overlap:
            raise ValueError(
                f"{name!r} was fitted on {overlap:,} of these {len(X):,} rows, so its scores "
                "here would flatter it; score it on rows it has not seen (split the validation "
                "rows with fairaudit.mitigation.split_rows: fit on one part, choose on the other)."
            )


def split_rows(index, y, sensitive_features, *, share: float = 0.5, random_state=None):
    """Split rows in two, stratified by label and group: one part to fit, one to choose.

    Every (label, group) pair of ``index`` appears in the fitting part, so
    per-group thresholds can be fitted there; pairs with two or more rows appear
    in both parts.

    Parameters
    ----------
    index : pandas.Index
        The rows to split (e.g. the validation split's index).
    y, sensitive_features : Series or DataFrame aligned with ``index``
    share : float, default 0.5
        Share of rows that go to the fitting part.
    random_state : int, optional

    Returns
    -------
    (fit_index, choose_index) : tuple of pandas.Index
    """
    index = pd.Index(index)
    groups = group_keys(pd.DataFrame(sensitive_features))
    strata = pd.Series(np.asarray(y), index=index).astype(str) + "|" + groups
    sizes = strata.map(strata.value_counts())
    # A label seen only once in a group goes to the fitting part: thresholds need both labels
    # of every group; the other strata are split in proportion.
    single = index[(sizes == 1).to_numpy()]
    rest = strata[(sizes > 1).to_numpy()]
    n_fit = min(
        max(round(share * len(index)) - len(single), rest.nunique()), len(rest) - rest.nunique()
    )
    fit_index, choose_index = train_test_split(
        rest.index, train_size=n_fit, stratify=rest, random_state=random_state
    )
    fit_index = pd.Index(fit_index).append(single)
    return pd.Index(fit_index), pd.Index(choose_index)
