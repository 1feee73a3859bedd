"""Per-group thresholds: rates against MetricFrame, and the widget updating live."""

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from fairaudit.reporting import plot_threshold_rates, threshold_explorer, threshold_rates


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(7)
    n = 2000
    groups = rng.choice(["f", "m"], n)
    y = (rng.random(n) < 0.3).astype(int)
    scores = np.clip(0.35 * y + rng.random(n) * 0.7, 0, 1)
    return y, scores, groups


def test_rates_equal_metricframe_at_per_group_thresholds(scored):
    y, scores, groups = scored
    thresholds = {"f": 0.42, "m": 0.61}
    table, summary = threshold_rates(y, scores, groups, thresholds)
    predicted = (scores >= np.vectorize(thresholds.get)(groups)).astype(int)
    frame = MetricFrame(
        metrics={
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "approved": selection_rate,
        },
        y_true=y,
        y_pred=predicted,
        sensitive_features=groups,
    ).by_group
    np.testing.assert_allclose(table["true_positive_rate"], frame["tpr"])
    np.testing.assert_allclose(table["false_positive_rate"], frame["fpr"])
    np.testing.assert_allclose(table["selection_rate"], frame["approved"])
    approved = frame["approved"]
    assert summary["disparate_impact"] == pytest.approx(approved.min() / approved.max())
    assert summary["accuracy"] == pytest.approx((predicted == y).mean())
    assert table["count"].sum() == len(y)


def test_one_threshold_for_all_and_a_missing_group_is_refused(scored):
    y, scores, groups = scored
    single, _ = threshold_rates(y, scores, groups, 0.5)
    assert single["threshold"].tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match=r"no threshold for group\(s\) \['m'\]"):
        threshold_rates(y, scores, groups, {"f": 0.5})
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        threshold_rates(y[:-1], scores, groups, 0.5)


def test_moving_a_slider_updates_the_figure_and_the_table_together(scored):
    y, scores, groups = scored
    widget = threshold_explorer(y, scores, groups, thresholds=0.5)
    assert repr(widget).startswith("Threshold explorer: 2 sliders")
    box, image, shown = widget.children
    sliders = box.children
    assert [s.description for s in sliders] == ["f", "m"]
    before_png, before_html = image.value, shown.value
    assert before_png[:8] == b"\x89PNG\r\n\x1a\n"
    sliders[0].value = 0.2
    table, summary = threshold_rates(y, scores, groups, {"f": 0.2, "m": 0.5})
    assert shown.value != before_html and image.value != before_png
    assert f"{summary['disparate_impact']:.3f}" in shown.value
    assert f"{table.loc['f', 'selection_rate']:.3f}".rstrip("0") in shown.value
    # the figure is the one plot_threshold_rates draws for the sliders' thresholds
    sliders[0].value = 0.5
    assert image.value == before_png and shown.value == before_html


def test_the_table_keeps_its_columns_apart():
    """Inside the widget Lab's table styles do not apply: the widget brings its own."""
    rng = np.random.default_rng(0)
    widget = threshold_explorer(rng.integers(0, 2, 50), rng.random(50), ["a"] * 25 + ["b"] * 25)
    html = widget.children[-1].value
    assert 'class="dataframe fairaudit-explorer"' in html and "padding" in html


def test_static_figure_names_each_group_with_its_threshold(scored):
    y, scores, groups = scored
    fig = plot_threshold_rates(*threshold_rates(y, scores, groups, {"f": 0.3, "m": 0.7}))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["f (t=0.30)", "m (t=0.70)"]
    assert "disparate impact" in fig.axes[0].get_title()
