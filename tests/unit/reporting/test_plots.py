"""fairaudit.plots: every figure is complete (title, labels, legend) and draws the given numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fairaudit import reporting as plots  # noqa: E402
from fairaudit.metrics import audit  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    pred = np.where(rng.random(400) < 0.8, y, 1 - y)
    group = pd.Series(rng.choice(["married", "single", "others"], 400), name="MARRIAGE")
    return audit(y, pred, group, favourable_label=0, n_boot=200, random_state=0)


def _legend_texts(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [t.get_text() for leg in legends for t in leg.get_texts()]


def test_group_rates_draws_estimates_and_intervals(result):
    fig = plots.plot_group_rates(result, metrics=["selection_rate", "false_positive_rate"])
    assert fig._suptitle.get_text()
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("Selection rate")
    assert ax.get_ylabel() == "Group"
    points = ax.lines[0].get_xdata()
    np.testing.assert_allclose(points, result.by_group["selection_rate"].to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(g) for g in result.by_group.index]
    assert _legend_texts(fig)


def test_group_rates_compares_models_with_a_legend_entry_each(result):
    fig = plots.plot_group_rates({"model A": result, "model B": result.by_group})
    assert {"model A", "model B"} <= set(_legend_texts(fig))


def test_group_rates_names_missing_columns(result):
    with pytest.raises(ValueError, match="precision_at_k"):
        plots.plot_group_rates(result, metrics=["precision_at_k"])
    with pytest.raises(TypeError, match="DataFrame"):
        plots.plot_group_rates([1, 2, 3])


TABLE = pd.DataFrame(
    {"balanced_accuracy": [0.8, 0.76, 0.7], "equalized_odds_difference": [0.12, 0.01, 0.05]},
    index=pd.Index(["unmitigated", "threshold_optimizer", "EG"], name="model"),
)


def test_tradeoff_marks_front_and_choice():
    pareto = pd.Series([True, True, False], index=TABLE.index)
    fig = plots.plot_tradeoff(TABLE, pareto=pareto, chosen="threshold_optimizer")
    ax = fig.axes[0]
    assert ax.get_title() and "fairer" in ax.get_xlabel() and "better" in ax.get_ylabel()
    texts = _legend_texts(fig)
    assert "chosen: threshold_optimizer" in texts
    assert {"unmitigated", "threshold_optimizer", "EG"} <= set(texts)
    front_line = ax.lines[0]
    np.testing.assert_allclose(front_line.get_xdata(), [0.01, 0.12])  # sorted by disparity


def test_tradeoff_gives_every_model_its_own_symbol_and_draws_intervals():
    names = [f"model {i}" for i in range(14)]  # more models than the palette has colours
    table = pd.DataFrame(
        {
            "accuracy": np.linspace(0.80, 0.87, 14),
            "equalized_odds_difference": np.linspace(0.02, 0.15, 14),
        },
        index=pd.Index(names, name="model"),
    )
    table["accuracy_ci_low"] = table["accuracy"] - 0.01
    table["accuracy_ci_high"] = table["accuracy"] + 0.02
    table["equalized_odds_difference_ci_low"] = table["equalized_odds_difference"] - 0.03
    table["equalized_odds_difference_ci_high"] = table["equalized_odds_difference"] + 0.04
    fig = plots.plot_tradeoff(table, accuracy="accuracy")
    ax = fig.axes[0]
    symbols = [
        (tuple(np.round(c.get_facecolor()[0], 3)), c.get_paths()[0].vertices.tobytes())
        for c in ax.collections
        if c.get_offsets().shape == (1, 2) and c.get_label() in names
    ]
    assert len(symbols) == 14 and len(set(symbols)) == 14
    # one horizontal and one vertical bar per model, spanning the given intervals
    bars = [c for c in ax.collections if c.get_label() not in names]
    spans = sorted(
        round(float(np.ptp(seg[:, axis])), 6)
        for c in bars
        for seg in c.get_segments()
        for axis in (0, 1)
        if np.ptp(seg[:, axis]) > 0
    )
    assert spans == sorted([0.03] * 14 + [0.07] * 14)
    # ticks close enough together that a gap of 0.03 spans at least one of them
    ticks = np.diff(ax.get_xticks())
    assert ticks.max() <= 0.02 + 1e-12


def test_tradeoff_rejects_unknown_choice():
    with pytest.raises(ValueError, match="chosen='nope'"):
        plots.plot_tradeoff(TABLE, chosen="nope")


def test_data_balance_shows_counts_and_label_shares():
    df = pd.DataFrame(
        {
            "SEX": pd.Categorical(["male"] * 3 + ["female"] * 5, categories=["male", "female"]),
            "default": [1, 0, 0, 1, 1, 0, 0, 0],
        }
    )
    fig = plots.plot_data_balance(df, "SEX", "default", target_name="default")
    ax_count, ax_share = fig.axes[:2]
    assert [p.get_width() for p in ax_count.patches] == [3, 5]
    np.testing.assert_allclose([p.get_width() for p in ax_share.patches], [1 / 3, 2 / 5])
    assert ax_count.get_xlabel() and ax_share.get_xlabel() and fig._suptitle.get_text()
    assert any("all rows" in t for t in _legend_texts(fig))


def test_data_balance_names_missing_columns():
    with pytest.raises(ValueError, match="'AGE'"):
        plots.plot_data_balance(pd.DataFrame({"x": [1]}), "AGE", "x")


def test_group_roc_marks_each_rules_operating_point_on_each_groups_curve():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 600)
    group = np.where(rng.random(600) < 0.5, "a", "b")
    scores = np.clip(y * 0.3 + rng.random(600) * 0.7 + (group == "b") * 0.1, 0, 1)
    decisions = (scores > 0.5).astype(int)
    fig = plots.plot_group_roc(y, scores, group, {"cut at 0.5": decisions})
    ax = fig.axes[0]
    texts = _legend_texts(fig)
    for g in ("a", "b"):
        rows = group == g
        assert f"{g} (ROC AUC {roc_auc_score(y[rows], scores[rows]):.3f})" in texts
    assert "operating point: cut at 0.5" in texts
    offsets = [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
    marked = {tuple(np.round(o[0], 6)) for o in offsets}
    for g in ("a", "b"):  # (FPR, TPR) of the decisions, by hand
        rows = group == g
        fpr = decisions[rows & (y == 0)].mean()
        tpr = decisions[rows & (y == 1)].mean()
        assert (round(fpr, 6), round(tpr, 6)) in marked
    with pytest.raises(ValueError, match="same length"):
        plots.plot_group_roc(y[:5], scores, group)
