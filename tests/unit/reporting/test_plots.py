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
