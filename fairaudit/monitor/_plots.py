"""Figures of the monitor: disparate impact over time and the perturbation views."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairaudit.monitor._config import FairnessConfig, duration_text

_VIEW_LABELS = {
    "payload": "Payload (decisions as made)",
    "payload_plus_perturbed": "Payload + perturbed records",
    "debiased": "De-biased decisions",
}


def _axis_top(values: pd.DataFrame) -> float:
    """Upper y limit in percent: room above parity, but tiny windows' huge intervals are clipped."""
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(np.clip(finite.max(initial=0) + 10, 110, 250))


def plot_disparate_impact(
    windows: pd.DataFrame, config: FairnessConfig, *, events=None, title=None
):
    """Disparate-impact timeline: value per window with its interval, threshold band, alerts.

    Parameters
    ----------
    windows : pandas.DataFrame
        From :func:`windowed_disparate_impact`.
    config : FairnessConfig
    events : dict, optional
        ``{label: timestamp}`` drawn as vertical lines (e.g. a model release).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = windows.assign(
        di=windows["disparate_impact"] * 100,
        low=windows["ci_low"] * 100,
        high=windows["ci_high"] * 100,
    )
    fig, ax = plt.subplots(figsize=(11, 5), layout="constrained")
    top = _axis_top(data[["di", "high"]])
    ax.axhspan(0, config.threshold * 100, color="tab:red", alpha=0.08, label="Below threshold")
    ax.axhline(config.threshold * 100, color="tab:red", lw=1, ls="--")
    ax.axhline(100, color="grey", lw=0.8, ls=":", label="Parity (100%)")
    if data["low"].notna().any():
        ax.fill_between(
            data["window_start"], data["low"], data["high"], color="tab:blue", alpha=0.15,
            lw=0, step="post", label="95% bootstrap interval",
        )  # fmt: skip
    sns.lineplot(
        data=data, x="window_start", y="di", ax=ax, drawstyle="steps-post", lw=1.2,
        color="tab:blue", label="Disparate impact per window",
    )  # fmt: skip
    alerts = data[data["alert"]]
    ax.scatter(
        alerts["window_start"], alerts["di"], color="tab:red", marker="v", s=14, zorder=3,
        label=f"Alert ({len(alerts)} windows)",
    )  # fmt: skip
    for label, when in (events or {}).items():
        ax.axvline(pd.Timestamp(when), color="black", lw=1)
        ax.annotate(
            label, (pd.Timestamp(when), top * 0.97), xytext=(4, 0), textcoords="offset points",
            va="top", fontsize=9,
        )  # fmt: skip
    groups = f"{', '.join(map(str, config.monitored))} vs {', '.join(map(str, config.reference))}"
    width = duration_text(config.window)
    ax.set(
        ylim=(0, top),
        xlabel="Window start (UTC)",
        ylabel="Disparate impact (%)",
        title=title
        or f"Disparate impact of {config.sensitive_features} ({groups}) per {width} window",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncols=3, frameon=False)
    return fig


def plot_perturbation_views(
    windowed: pd.DataFrame, config: FairnessConfig, *, events=None, title=None
):
    """Disparate impact per window for the payload, payload + perturbed and de-biased views.

    ``windowed`` is :meth:`PerturbationResult.windowed`'s long table.

    Parameters
    ----------
    windowed : pandas.DataFrame
    config : FairnessConfig
        For the threshold line and the labels.
    events : dict of str to timestamp, optional
        Vertical markers (e.g. a model release).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = windowed.assign(
        di=windowed["disparate_impact"] * 100, View=windowed["view"].map(_VIEW_LABELS)
    )
    fig, ax = plt.subplots(figsize=(11, 4.5), layout="constrained")
    ax.axhspan(0, config.threshold * 100, color="tab:red", alpha=0.08, label="Below threshold")
    ax.axhline(100, color="grey", lw=0.8, ls=":")
    sns.lineplot(
        data=data, x="window_start", y="di", hue="View", style="View", markers=True, ax=ax,
        hue_order=list(_VIEW_LABELS.values()), style_order=list(_VIEW_LABELS.values()),
    )  # fmt: skip
    for label, when in (events or {}).items():
        ax.axvline(pd.Timestamp(when), color="black", lw=1, label=label)
    ax.set(
        ylim=(0, _axis_top(data[["di"]])),
        xlabel="Window start (UTC)",
        ylabel="Disparate impact (%)",
        title=title
        or f"Disparate impact of {config.sensitive_features}: payload, perturbed, de-biased",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncols=3, frameon=False)
    return fig
