"""Figures the case studies share: group rates with uncertainty, trade-offs, data balance.

Each function draws one complete, self-explaining figure (title, axis labels
with units, a legend a reader understands without the code) with seaborn's
styling on matplotlib, and returns the :class:`~matplotlib.figure.Figure` so a
notebook can both show it and save it (``RunArtefacts.savefig``). None of them
calls ``plt.show()``.

* :func:`plot_group_rates` -- per-group rates (selection, true-/false-positive
  rate, ...) as points with confidence-interval error bars, from the
  ``by_group`` table of :func:`fairaudit.metrics.audit` (one model, or several side by
  side).
* :func:`plot_tradeoff` -- the accuracy-versus-disparity scatter of
  :func:`fairaudit.mitigation.tradeoff_table`, with the Pareto front drawn as a
  line and the chosen model marked.
* :func:`plot_data_balance` -- how many rows each group has and how often each
  has the positive label: the first look at any sensitive feature.
* :func:`plot_group_roc` -- one ROC curve per group with each rule's operating
  point on it: where a threshold puts each group's true- and false-positive rate.

All inputs are plain pandas objects; any sensitive feature and any model
names work.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, MaxNLocator

from fairaudit._validation import group_key

__all__ = [
    "RATE_LABELS",
    "plot_group_rates",
    "plot_tradeoff",
    "plot_data_balance",
    "plot_group_roc",
]

#: Marker cycle of the trade-off plot: with ten colours, 70 models get distinct symbols.
_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]

#: Readable names of the audit's rate columns (used for axis labels and legends).
RATE_LABELS = {
    "selection_rate": "Selection rate (predicted positive)",
    "true_positive_rate": "True-positive rate",
    "false_positive_rate": "False-positive rate",
    "false_negative_rate": "False-negative rate",
    "true_negative_rate": "True-negative rate",
    "precision": "Precision",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "equalized_odds_difference": "Equalized-odds difference",
    "demographic_parity_difference": "Demographic-parity difference",
    "true_positive_rate_difference": "True-positive-rate difference",
    "false_positive_rate_difference": "False-positive-rate difference",
    "error_rate_difference": "Error-rate difference",
}


def _label(name: str) -> str:
    return RATE_LABELS.get(name, name.replace("_", " ").capitalize())


def _by_group_frames(by_group) -> dict[str, pd.DataFrame]:
    """Accept one by-group table, an AuditResult, or a dict of them (model name -> table)."""
    if isinstance(by_group, dict):
        items = by_group.items()
    else:
        items = [(None, by_group)]
    out = {}
    for name, frame in items:
        frame = getattr(frame, "by_group", frame)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                "by_group must be a DataFrame (AuditResult.by_group), an AuditResult, or a dict "
                f"of them; got {type(frame).__name__}."
            )
        out[name] = frame
    if not out:
        raise ValueError("by_group is empty; pass at least one table.")
    return out


def plot_group_rates(
    by_group,
    metrics=("selection_rate", "true_positive_rate", "false_positive_rate"),
    *,
    group_label: str = "Group",
    title: str | None = None,
    overall: dict | None = None,
    figsize=None,
):
    """Per-group rates with confidence intervals, one panel per metric.

    Parameters
    ----------
    by_group : DataFrame, AuditResult, or dict of str to either
        Rows indexed by group; for every metric a column ``<metric>`` and,
        when available, ``<metric>_ci_low`` / ``<metric>_ci_high`` (the layout
        of ``AuditResult.by_group``). A dict compares models: its keys label
        the legend and each model's points are offset side by side.
    metrics : sequence of str
        Columns to plot, one panel each.
    group_label : str, default="Group"
        Axis label of the groups (e.g. the sensitive feature's name).
    title : str, optional
        Figure title; a default names the metrics.
    overall : dict, optional
        ``{metric: value}`` drawn as a dashed reference line in each panel
        (single-model plots only).
    figsize : tuple, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    frames = _by_group_frames(by_group)
    metrics = list(metrics)
    for name, frame in frames.items():
        missing = [m for m in metrics if m not in frame.columns]
        if missing:
            where = f" of {name!r}" if name is not None else ""
            raise ValueError(
                f"metrics {missing} are not columns of the table{where}; "
                f"available: {list(frame.columns)}."
            )
    groups = list(dict.fromkeys(g for f in frames.values() for g in f.index))
    n_models = len(frames)
    palette = sns.color_palette("colorblind", n_colors=max(n_models, 1))
    figsize = figsize or (4.2 * len(metrics), 3.6 + 0.15 * len(groups))
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(1, len(metrics), figsize=figsize, sharey=True, squeeze=False)
    axes = axes[0]
    offsets = np.linspace(-0.25, 0.25, n_models) if n_models > 1 else np.zeros(1)
    positions = {g: i for i, g in enumerate(groups)}
    for ax, metric in zip(axes, metrics, strict=True):
        for k, (name, frame) in enumerate(frames.items()):
            y = np.array([positions[g] for g in frame.index], dtype=float) + offsets[k]
            x = frame[metric].to_numpy(dtype=float)
            lo_col, hi_col = f"{metric}_ci_low", f"{metric}_ci_high"
            if lo_col in frame.columns and hi_col in frame.columns:
                lo = frame[lo_col].to_numpy(dtype=float)
                hi = frame[hi_col].to_numpy(dtype=float)
                err = np.vstack([np.clip(x - lo, 0, None), np.clip(hi - x, 0, None)])
                err = np.nan_to_num(err)
            else:
                err = None
            ax.errorbar(
                x,
                y,
                xerr=err,
                fmt="o",
                color=palette[k],
                capsize=3,
                label=name if name is not None else "estimate with CI",
            )
        if overall and n_models == 1 and metric in overall:
            ax.axvline(overall[metric], color="grey", linestyle="--", linewidth=1, label="overall")
        ax.set_xlabel(f"{_label(metric)}, 0 to 1")
        ax.set_xlim(-0.02, 1.02)
        ax.set_title(_label(metric))
    axes[0].set_yticks(range(len(groups)))
    axes[0].set_yticklabels([str(g) for g in groups])
    axes[0].set_ylabel(group_label)
    axes[0].set_ylim(len(groups) - 0.4, -0.6)  # first group on top, with a margin
    handles, labels = axes[0].get_legend_handles_labels()
    legend_title = "Model" if n_models > 1 else "Points: estimate; bars: confidence interval"
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(len(labels), 4),
        title=legend_title,
        bbox_to_anchor=(0.5, -0.02),
        frameon=False,
    )
    fig.suptitle(title or f"Rates by {group_label.lower()} with confidence intervals")
    fig.tight_layout(rect=(0, 0.12 if n_models > 1 else 0.1, 1, 1))
    return fig


def plot_tradeoff(
    table: pd.DataFrame,
    *,
    accuracy: str = "balanced_accuracy",
    disparity: str = "equalized_odds_difference",
    pareto=None,
    chosen: str | None = None,
    title: str | None = None,
    figsize=(8, 6.5),
):
    """Accuracy against disparity for every candidate model, Pareto front and choice marked.

    Parameters
    ----------
    table : DataFrame
        One row per model (index = model name), e.g. from
        :func:`fairaudit.mitigation.tradeoff_table`.
    accuracy, disparity : str
        Columns for the x axis (lower disparity is better) and the y axis.
    pareto : boolean Series, optional
        Which rows are on the Pareto front (:func:`fairaudit.mitigation.pareto_front`);
        they are joined by a line.
    chosen : str, optional
        Index label of the chosen model; drawn as a large ring and named in the legend.
    title : str, optional

    Every model gets its own colour *and* marker (ten colours, then the next
    marker), so no two share a symbol. Where the table has ``<column>_ci_low``
    and ``<column>_ci_high`` for an axis (as :func:`fairaudit.mitigation.assess`
    gives), each point carries its interval as an error bar: two candidates whose
    bars overlap are not shown apart by these rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    for col in (accuracy, disparity):
        if col not in table.columns:
            raise ValueError(
                f"column {col!r} is not in the table; columns are {list(table.columns)}."
            )
    if chosen is not None and chosen not in table.index:
        raise ValueError(f"chosen={chosen!r} is not a row of the table; rows: {list(table.index)}.")
    data = table.reset_index()
    name_col = data.columns[0]
    palette = sns.color_palette("colorblind", n_colors=min(len(data), 10))
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=figsize)
    if pareto is not None:
        front = table[np.asarray(pareto, dtype=bool)].sort_values(disparity)
        ax.plot(
            front[disparity],
            front[accuracy],
            color="grey",
            linestyle="--",
            linewidth=1,
            zorder=1,
            label="Pareto front (no model better on both axes)",
        )

    def errors(col):
        low, high = f"{col}_ci_low", f"{col}_ci_high"
        if low not in data.columns or high not in data.columns:
            return None
        value = data[col].astype(float)
        bars = np.vstack([value - data[low].astype(float), data[high].astype(float) - value])
        return np.where(np.isfinite(bars), np.clip(bars, 0, None), 0)

    xerr, yerr = errors(disparity), errors(accuracy)
    for i, row in data.iterrows():
        colour, marker = palette[i % len(palette)], _MARKERS[i // len(palette) % len(_MARKERS)]
        if xerr is not None or yerr is not None:
            ax.errorbar(
                row[disparity],
                row[accuracy],
                xerr=None if xerr is None else xerr[:, [i]],
                yerr=None if yerr is None else yerr[:, [i]],
                fmt="none",
                ecolor=colour,
                elinewidth=1,
                alpha=0.6,
                zorder=1.5,
            )
        ax.scatter(
            row[disparity],
            row[accuracy],
            s=60,
            color=colour,
            marker=marker,
            edgecolor="black",
            linewidth=0.5,
            zorder=2,
            label=str(row[name_col]),
        )
    if chosen is not None:
        ax.scatter(
            table.loc[chosen, disparity],
            table.loc[chosen, accuracy],
            s=260,
            facecolors="none",
            edgecolors="crimson",
            linewidth=2,
            zorder=3,
            label=f"chosen: {chosen}",
        )
    # ticks every 0.01 or 0.02 where the range allows, so a gap of 0.03 is readable
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 5, 10]))
    ax.minorticks_on()
    ax.grid(which="minor", linewidth=0.3, alpha=0.5)
    ax.set_xlabel(f"{_label(disparity)} (lower is fairer)")
    ax.set_ylabel(f"{_label(accuracy)} (higher is better)")
    ax.set_title(title or f"{_label(accuracy)} versus {_label(disparity).lower()}")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=2,
        frameon=False,
        title="Model",
    )
    fig.tight_layout()
    return fig


def plot_data_balance(
    df: pd.DataFrame,
    sensitive_feature: str,
    target: str,
    *,
    pos_label=1,
    target_name: str | None = None,
    title: str | None = None,
    figsize=(11, 3.8),
):
    """Two panels: rows per group of ``sensitive_feature``, and each group's share of ``pos_label``.

    Parameters
    ----------
    df : DataFrame holding both columns.
    sensitive_feature : str
        Column of group membership.
    target : str
        Label column.
    pos_label : default=1
        The label value whose share is shown.
    target_name : str, optional
        Readable name of the positive outcome for the axis label (e.g. "default").
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    for col in (sensitive_feature, target):
        if col not in df.columns:
            raise ValueError(f"column {col!r} is not in the frame; columns are {list(df.columns)}.")
    groups = df[sensitive_feature]
    order = (
        list(groups.cat.categories[groups.cat.categories.isin(groups.unique())])
        if isinstance(groups.dtype, pd.CategoricalDtype)
        else sorted(groups.dropna().unique().tolist(), key=str)
    )
    is_pos = (df[target] == pos_label).astype(float)
    stats = pd.DataFrame({"group": groups.astype(str), "positive": is_pos})
    summary = stats.groupby("group", sort=False)["positive"].agg(["size", "mean"])
    summary = summary.reindex([str(g) for g in order])
    overall = float(is_pos.mean())
    target_name = target_name or f"{target} = {pos_label}"
    colors = sns.color_palette("colorblind", n_colors=len(summary))
    with sns.axes_style("whitegrid"):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize)
    y = np.arange(len(summary))
    ax1.barh(y, summary["size"], color=colors)
    for yi, n in zip(y, summary["size"], strict=True):
        ax1.annotate(f"{int(n):,}", (n, yi), xytext=(3, 0), textcoords="offset points", va="center")
    ax1.set_yticks(y, summary.index)
    ax1.invert_yaxis()
    ax1.set_xlabel("Number of rows")
    ax1.set_ylabel(sensitive_feature)
    ax1.set_title(f"Rows per {sensitive_feature} group")
    ax1.set_xlim(0, summary["size"].max() * 1.25)
    ax1.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax1.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax2.barh(y, summary["mean"], color=colors)
    ax2.axvline(
        overall, color="grey", linestyle="--", linewidth=1, label=f"all rows ({overall:.1%})"
    )
    ax2.set_yticks(y, summary.index)
    ax2.invert_yaxis()
    ax2.set_xlabel(f"Share with {target_name} (0-1)")
    ax2.set_title(f"Share with {target_name} per {sensitive_feature} group")
    ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    fig.suptitle(title or f"Data balance: {sensitive_feature} and {target_name}")
    fig.tight_layout()
    return fig


def plot_group_roc(y_true, scores, groups, operating_points=None, *, title=None, figsize=(7, 6)):
    """One ROC curve per group, with the operating points of given decisions marked.

    A single threshold puts different groups at different points of their own
    curves; equalized odds asks for one shared point, which exists only where
    the curves cross or below them (by mixing). The markers show where each
    rule actually lands.

    Parameters
    ----------
    y_true : array-like of 0/1
    scores : array-like of float
        The model's scores for the positive label.
    groups : array-like
        Group of each row (a Series of tuples is shown as "a, b").
    operating_points : dict of str to array-like of 0/1, optional
        Rule name to its decisions on the same rows; each group's (FPR, TPR)
        under that rule is marked.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(y_true).astype(int)
    scores = np.asarray(scores, dtype=float)
    labels = pd.Series([group_key(g) for g in groups])
    if not (len(y) == len(scores) == len(labels)):
        raise ValueError(
            f"y_true, scores and groups must have the same length, got {len(y)}, "
            f"{len(scores)} and {len(labels)}."
        )
    operating_points = operating_points or {}
    names = sorted(labels.unique())
    palette = dict(zip(names, sns.color_palette("colorblind", n_colors=len(names)), strict=True))
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=figsize)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    for name in names:
        rows = (labels == name).to_numpy()
        if len(np.unique(y[rows])) < 2:
            continue  # no curve without both labels
        fpr, tpr, _ = roc_curve(y[rows], scores[rows])
        auc = roc_auc_score(y[rows], scores[rows])
        ax.plot(fpr, tpr, color=palette[name], linewidth=1.5, label=f"{name} (ROC AUC {auc:.3f})")
        for j, decisions in enumerate(operating_points.values()):
            d = np.asarray(decisions).astype(int)[rows]
            point = (d[y[rows] == 0].mean(), d[y[rows] == 1].mean())
            ax.scatter(
                *point,
                s=70,
                color=palette[name],
                marker=_MARKERS[j % len(_MARKERS)],
                edgecolor="black",
                linewidth=0.7,
                zorder=3,
            )
    for j, rule in enumerate(operating_points):  # one legend entry per rule, in black
        ax.scatter([], [], marker=_MARKERS[j % len(_MARKERS)], color="white", edgecolor="black",
                   label=f"operating point: {rule}")  # fmt: skip
    ax.set_xlabel("False-positive rate (unqualified approved)")
    ax.set_ylabel("True-positive rate (qualified approved)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(title or "ROC curve per group, with each rule's operating points")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
