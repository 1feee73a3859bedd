"""Per-group decision thresholds, explored: the rates they give, as a table, a figure, a widget.

A score at or above a group's threshold is a positive prediction, the favourable
outcome (in the credit study, "will repay", so the loan is approved): the selection
rate is the approved share, as everywhere in this project.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.utils import check_consistent_length

from fairaudit.metrics import UndefinedMetricWarning, audit

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
    predicted = (s >= np.array([thresholds[x] for x in g])).astype(int)
    with warnings.catch_warnings():  # an undefined rate is NaN in the table, as it says
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        result = audit(y, predicted, g, n_boot=0, min_group_size=1)
    rates = result.by_group.reindex(names)
    table = pd.DataFrame(
        {
            "threshold": [thresholds[n] for n in names],
            "count": rates["count"].to_numpy(),
            **{name: rates[name].to_numpy() for name in RATE_NAMES},
        },
        index=pd.Index(names, name="group"),
    )
    di = result.disparate_impact["disparate_impact"]
    summary = {
        "accuracy": float(result.overall["accuracy"]),
        "disparate_impact": float(di.min()) if di.notna().any() else np.nan,
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


#: The table's look inside the widget, which JupyterLab's notebook styles do not reach:
#: spaced columns, headers that wrap instead of running together.
_TABLE_STYLE = (
    "<style>.fairaudit-explorer {border-collapse: collapse; font-size: 13px} "
    ".fairaudit-explorer th, .fairaudit-explorer td {padding: 3px 10px; text-align: right} "
    ".fairaudit-explorer thead th {vertical-align: bottom; max-width: 9em; "
    "border-bottom: 1px solid #888}</style>"
)


def _html(table: pd.DataFrame, summary: Mapping[str, float]) -> str:
    shown = table.rename(columns=RATE_NAMES).round(3)
    return (
        _TABLE_STYLE
        + shown.to_html(border=0, classes="fairaudit-explorer")
        + f"<p><b>disparate impact</b> {summary['disparate_impact']:.3f} &nbsp; "
        f"<b>accuracy</b> {summary['accuracy']:.3f}</p>"
    )


def _png(table: pd.DataFrame, summary: Mapping[str, float], figure) -> bytes:
    """The figure of :func:`plot_threshold_rates`, redrawn on ``figure``, as PNG bytes."""
    figure.clear()
    plot_threshold_rates(table, summary, ax=figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def threshold_explorer(y_true, scores, groups, thresholds: Mapping | float = 0.5):
    """A widget: one threshold slider per group, and the figure and table of their rates.

    Releasing a slider redraws the figure and the table together. Needs ipywidgets and a
    live JupyterLab kernel; a saved notebook shows the widget's one-line description
    instead (pair it with :func:`plot_threshold_rates` for readers).

    Parameters
    ----------
    y_true, scores, groups
        As in :func:`threshold_rates`.
    thresholds : float or mapping of group to float, default 0.5
        The sliders' starting values.

    Returns
    -------
    ipywidgets.VBox
        Its children: the sliders (in a box), the figure (an ``Image``), the table (``HTML``).
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    table, summary = threshold_rates(y_true, scores, groups, thresholds)
    sliders = {
        g: widgets.FloatSlider(
            value=t,
            min=0.0,
            max=1.0,
            step=0.01,
            description=str(g),
            continuous_update=False,  # one redraw when released: smooth on a slow laptop
            readout_format=".2f",
            style={"description_width": "initial"},
        )
        for g, t in table["threshold"].items()
    }
    figure = Figure(figsize=(8, 3.2))  # not pyplot's: the cell shows no second copy of it
    image = widgets.Image(
        value=_png(table, summary, figure), format="png", layout=widgets.Layout(max_width="100%")
    )
    out = widgets.HTML(_html(table, summary))

    def update(_change=None):
        values = {g: s.value for g, s in sliders.items()}
        new = threshold_rates(y_true, scores, groups, values)
        image.value = _png(*new, figure)
        out.value = _html(*new)

    for slider in sliders.values():
        slider.observe(update, names="value")

    class Explorer(widgets.VBox):
        def __repr__(self):  # what a saved notebook or a terminal shows
            return f"Threshold explorer: {len(sliders)} sliders (move them in JupyterLab)"

    return Explorer([widgets.HBox(list(sliders.values())), image, out])
