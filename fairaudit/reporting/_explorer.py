"""Per-group decision thresholds, explored: the rates they give, as a table, a figure, a widget.

A score at or above a group's threshold is a positive prediction, the favourable
outcome (in the credit study, "will repay", so the loan is approved): the selection
rate is the approved share, as everywhere in this project.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.utils import check_consistent_length

RATE_NAMES = {
    "selection_rate": "approved share",
    "true_positive_rate": "TPR (repayers approved)",
    "false_positive_rate": "FPR (defaulters approved)",
}


def threshold_rates(
    y_true, scores, groups, thresholds: Mapping | float
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-group rates, accuracy and disparate impact of per-group score thresholds.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        True labels; 1 is the positive label, the outcome the person wants.
    scores : array-like of float
        Scores; a score at or above the group's threshold predicts 1 (approve).
    groups : array-like
        Group of each row.
    thresholds : float or mapping of group to float
        One threshold for everyone, or one per group.

    Returns
    -------
    table : pandas.DataFrame
        Per group: ``threshold, count, selection_rate, true_positive_rate, false_positive_rate``.
    summary : dict
        ``accuracy`` over all rows and ``disparate_impact``, the lowest selection rate
        divided by the highest.

    Raises
    ------
    ValueError
        If the inputs differ in length or a group has no threshold.
    """
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=float)
    g = pd.Series(np.asarray(groups)).astype(str).to_numpy()
    check_consistent_length(y, s, g)
    names = sorted(pd.unique(g))
    if not isinstance(thresholds, Mapping):
        thresholds = dict.fromkeys(names, float(thresholds))
    thresholds = {str(k): float(v) for k, v in thresholds.items()}
    missing = [n for n in names if n not in thresholds]
    if missing:
        raise ValueError(f"no threshold for group(s) {missing}; pass one per group {names}")
    predicted = s >= np.array([thresholds[x] for x in g])
    rows = {}
    for name in names:
        mine = g == name
        pos, neg = mine & (y == 1), mine & (y == 0)
        rows[name] = {
            "threshold": thresholds[name],
            "count": int(mine.sum()),
            "selection_rate": float(predicted[mine].mean()),
            "true_positive_rate": float(predicted[pos].mean()) if pos.any() else np.nan,
            "false_positive_rate": float(predicted[neg].mean()) if neg.any() else np.nan,
        }
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("group")
    selected = table["selection_rate"]
    summary = {
        "accuracy": float((predicted == (y == 1)).mean()),
        "disparate_impact": float(selected.min() / selected.max())
        if selected.max() > 0
        else np.nan,
    }
    return table, summary


def plot_threshold_rates(table: pd.DataFrame, summary: Mapping[str, float], *, ax=None):
    """Bar chart of :func:`threshold_rates`: each group's rates, with DI and accuracy in the title.

    Parameters
    ----------
    table, summary
        The two results of :func:`threshold_rates`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    shown = table[list(RATE_NAMES)].rename(columns=RATE_NAMES)
    shown.index = [f"{g} (t={t:.2f})" for g, t in table["threshold"].items()]
    shown.plot.barh(ax=ax, width=0.8, color=["#0173b2", "#de8f05", "#cc78bc"])
    ax.set(
        xlim=(0, 1),
        xlabel="rate",
        ylabel="",
        title=f"disparate impact {summary['disparate_impact']:.3f}, "
        f"accuracy {summary['accuracy']:.3f}",
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.figure.tight_layout()
    return ax.figure


def _html(table: pd.DataFrame, summary: Mapping[str, float]) -> str:
    shown = table.rename(columns=RATE_NAMES).round(3)
    return (
        shown.to_html(border=0)
        + f"<p><b>disparate impact</b> {summary['disparate_impact']:.3f} &nbsp; "
        f"<b>accuracy</b> {summary['accuracy']:.3f}</p>"
    )


def threshold_explorer(y_true, scores, groups, thresholds: Mapping | float = 0.5):
    """A widget: one threshold slider per group, and the rates they give, updated live.

    Needs ipywidgets and a live JupyterLab kernel; a saved notebook shows the widget's
    one-line description instead (pair it with :func:`plot_threshold_rates` for readers).

    Parameters
    ----------
    y_true, scores, groups
        As in :func:`threshold_rates`.
    thresholds : float or mapping of group to float, default 0.5
        The sliders' starting values.

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as widgets

    table, summary = threshold_rates(y_true, scores, groups, thresholds)
    sliders = {
        g: widgets.FloatSlider(
            value=t,
            min=0.0,
            max=1.0,
            step=0.01,
            description=str(g),
            continuous_update=True,
            readout_format=".2f",
        )
        for g, t in table["threshold"].items()
    }
    out = widgets.HTML(_html(table, summary))

    def update(_change=None):
        values = {g: s.value for g, s in sliders.items()}
        out.value = _html(*threshold_rates(y_true, scores, groups, values))

    for slider in sliders.values():
        slider.observe(update, names="value")

    class Explorer(widgets.VBox):
        def __repr__(self):  # what a saved notebook or a terminal shows
            return f"Threshold explorer: {len(sliders)} sliders (move them in JupyterLab)"

    return Explorer([*sliders.values(), out])
